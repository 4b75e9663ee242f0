import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { ApiError, ValidationError } from "../errors.ts";
import { apiKeyAuthenticator } from "./auth.ts";
import { AuthFailureLimiter } from "./auth-failures.ts";
import { openApiRoute } from "./contract/openapi.ts";
import { clientErrorHandler, frameworkErrors, SECURITY_HEADERS } from "./edge.ts";
import { registerErrorHandling } from "./error-handler.ts";
import { duplicateKeyOf } from "./json-body.ts";
import { type HttpLimits, httpLimits } from "./limits.ts";
import { RequestLog } from "./request-log.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { customerRoutes } from "./routes/customers.ts";
import { exportRoutes } from "./routes/exports.ts";
import { healthRoutes } from "./routes/health.ts";
import { transactionRoutes } from "./routes/transactions.ts";
import type { ApiDeps } from "./types.ts";

/** How long a client refused while the server stops should wait before retrying elsewhere. */
const CLOSING_RETRY_AFTER_S = 5;

/**
 * The HTTP API exactly per API.md; `app.inject()` drives it in tests without a socket.
 * `limits` (SEC-6) default to DEFAULT_HTTP_LIMITS.
 */
export async function buildApp(
  deps: ApiDeps,
  limitOverrides: Partial<HttpLimits> = {},
): Promise<FastifyInstance> {
  const limits = httpLimits(limitOverrides);
  // OPS-4: one line and one metrics observation per request, when it completes.
  const requestLog = new RequestLog(deps.metrics);
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the generic parameters differ only in name.
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: requestLog,
    bodyLimit: deps.bodyLimitBytes,
    // Ids in paths are matched exactly; a trailing slash is not another resource.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: limits.maxParamLength },
    // SEC-5: the router's and Node's own errors answer in the catalogue's shape (edge.ts).
    // Answered before routing, where Fastify logs no completion: the request's line is here.
    frameworkErrors: (error, request, reply) => {
      frameworkErrors(error, request, reply);
      requestLog.completed(request, reply);
    },
    clientErrorHandler,
    // SEC-6: slow clients are cut off. Node checks headersTimeout and requestTimeout every
    // connectionsCheckingInterval (30 s by default: a slow-loris would get that much extra).
    connectionTimeout: limits.connectionTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      maxHeaderSize: limits.maxHeaderBytes,
    },
    // The client address (failure limit, SEC-6) as the trusted proxies in front report it.
    // (What Fastify does with a hop count, which its types do not declare.)
    ...(limits.trustedProxyHops > 0 && {
      trustProxy: (_address: string, hop: number) => hop < limits.trustedProxyHops,
    }),
    // Fastify's own 503 while closing is not in the catalogue's shape: the hook below answers.
    return503OnClosing: false,
  });
  registerErrorHandling(app);
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (_request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (closing) {
      void reply.header("retry-after", String(CLOSING_RETRY_AFTER_S));
      throw new ApiError("TXW_ERR_UNAVAILABLE", "the server is shutting down; retry");
    }
  });
  // Fastify's own JSON parser (prototype-poisoning safe), except that an empty body is no body:
  // the alert actions take an optional note, and clients send the JSON content type regardless.
  // A key given twice is refused (SEC-6): which of the two counts would be a guess.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body.toString();
    if (text === "") {
      done(null, undefined);
      return;
    }
    parseJson(request, text, (error, value) => {
      if (error) return done(error, undefined);
      const duplicate = duplicateKeyOf(text, value);
      if (duplicate !== undefined) {
        return done(new ValidationError(duplicate, `${duplicate} is given more than once`));
      }
      done(null, value);
    });
  });
  // Fastify parses text/plain by default, which let a text body reach the alert actions as a
  // string (a 400). Every body the API takes is JSON: any other declared type is a 415.
  app.removeContentTypeParser("text/plain");
  healthRoutes(app, deps);
  // OPS-3: the contract, generated from the schemas the routes use; no key.
  openApiRoute(app);

  await app.register(async (v1) => {
    const authenticate = apiKeyAuthenticator(deps.ledger, deps.now);
    // SEC-6: an address that failed too often is refused before its key is hashed or looked up.
    const authFailures = new AuthFailureLimiter(limits.authFailuresPerMinute, deps.now);
    // Authentication runs first so the rate limit can be counted per merchant, not per IP.
    v1.addHook("onRequest", async (request, reply) => {
      const wait = authFailures.retryAfterSeconds(request.ip);
      if (wait > 0) {
        void reply.header("retry-after", String(wait));
        throw AuthFailureLimiter.limited(wait, limits.authFailuresPerMinute);
      }
      try {
        await authenticate(request);
      } catch (error) {
        if (error instanceof ApiError && error.code === "TXW_ERR_UNAUTHENTICATED") {
          authFailures.recordFailure(request.ip);
        }
        throw error;
      }
    });
    await v1.register(rateLimit, {
      max: deps.rateLimitPerMinute,
      timeWindow: 60_000,
      // SEC-6: counted before the body is read (preHandler would parse a 4 MB body first).
      hook: "onRequest",
      keyGenerator: (request) => request.merchant?.merchantId ?? request.ip,
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          "TXW_ERR_RATE_LIMITED",
          `rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
        ),
    });
    transactionRoutes(v1, deps);
    customerRoutes(v1, deps);
    alertRoutes(v1, deps, limits.streamsPerKey);
    exportRoutes(v1, deps);
  });
  return app;
}
