# syntax=docker/dockerfile:1
# The txwatch API container (src/handlers/server.ts), built for ARM64 Fargate by the Pulumi
# program (linux/arm64). Two stages:
#
# - build runs on the build host's own platform ($BUILDPLATFORM: linux/amd64 on an x86 host),
#   never under emulation: it installs the dependencies and bundles the server with esbuild
#   (scripts/bundle.mjs, the same module the Pulumi program bundles the Lambda functions with).
#   The bundle is plain JavaScript, identical whatever platform made it: esbuild cross-compiles,
#   and no dependency of the server has a native binary.
# - runtime is the target platform (linux/arm64) and has no RUN instruction, only COPY / ADD and
#   metadata, so building it executes nothing of that platform: an x86 host needs no QEMU and no
#   binfmt handlers. Keep it that way: a RUN here would need emulation again.
#
# The image holds node, the bundle (server.mjs with its migrations, default ruleset and history
# script) and the RDS certificate authorities: no node_modules, no TypeScript, no compiler.
# Nothing is compiled or cached at run time, so the process needs no writable path at all: the
# task runs it as the image's unprivileged user on a read-only root filesystem.
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency's install script runs (esbuild finds its binary without one).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN node scripts/bundle.mjs server /out

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DB_CA_BUNDLE=/etc/ssl/rds/global-bundle.pem
WORKDIR /app
# Amazon RDS certificate authorities, so TLS to the ledger is verified, not merely encrypted.
ADD --chmod=444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/rds/global-bundle.pem
# Owned by root and not writable by the user the process runs as.
COPY --from=build /out /app
# The image's unprivileged user (node, uid 1000), by number so no passwd lookup is needed.
USER 1000:1000
EXPOSE 8080
CMD ["node", "/app/server.mjs"]
