import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { ApiError } from "../errors.ts";
import { apiKeyAuthenticator } from "./auth.ts";
import { registerErrorHandling } from "./error-handler.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { customerRoutes } from "./routes/customers.ts";
import { exportRoutes } from "./routes/exports.ts";
import { healthRoutes } from "./routes/health.ts";
import { transactionRoutes } from "./routes/transactions.ts";
import type { ApiDeps } from "./types.ts";

/** The HTTP API exactly per API.md; `app.inject()` drives it in tests without a socket. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the generic parameters differ only in name.
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    // Ids in paths are matched exactly; a trailing slash is not another resource.
    routerOptions: { ignoreTrailingSlash: true },
  });
  registerErrorHandling(app);
  // Fastify's own JSON parser (prototype-poisoning safe), except that an empty body is no body:
  // the alert actions take an optional note, and clients send the JSON content type regardless.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "") done(null, undefined);
    else parseJson(request, body.toString(), done);
  });
  // Fastify parses text/plain by default, which let a text body reach the alert actions as a
  // string (a 400). Every body the API takes is JSON: any other declared type is a 415.
  app.removeContentTypeParser("text/plain");
  healthRoutes(app, deps);

  await app.register(async (v1) => {
    const authenticate = apiKeyAuthenticator(deps.ledger, deps.now);
    // Authentication runs first so the rate limit can be counted per merchant, not per IP.
    v1.addHook("onRequest", authenticate);
    await v1.register(rateLimit, {
      max: deps.rateLimitPerMinute,
      timeWindow: 60_000,
      hook: "preHandler",
      keyGenerator: (request) => request.merchant?.merchantId ?? request.ip,
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          "TXW_ERR_RATE_LIMITED",
          `rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
        ),
    });
    transactionRoutes(v1, deps);
    customerRoutes(v1, deps);
    alertRoutes(v1, deps);
    exportRoutes(v1, deps);
  });
  return app;
}
