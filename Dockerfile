# syntax=docker/dockerfile:1
# The txwatch API container (src/handlers/server.ts), built for ARM64 Fargate by the Pulumi
# program. Two stages: production dependencies are installed apart, so the runtime image holds
# no compiler, no dev dependencies and no npm cache.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DB_CA_BUNDLE=/etc/ssl/rds/global-bundle.pem
WORKDIR /app
# Amazon RDS certificate authorities, so TLS to the ledger is verified, not merely encrypted.
ADD --chmod=444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/rds/global-bundle.pem
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The image's unprivileged user; the root filesystem is mounted read-only, /tmp is a volume.
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "src/handlers/server.ts"]
