import type { FastifyError, FastifyInstance } from "fastify";
import { ApiError, DependencyError, ValidationError } from "../errors.ts";
import { FieldError } from "../validation.ts";
import { SECURITY_HEADERS } from "./edge.ts";

/** Methods a path is tried with to name its `Allow` header (TRACE is never served). */
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** A dependency's outage or a full stream: a short wait, so a client's retry is soon. */
const DEPENDENCY_RETRY_AFTER_S = 2;

/** RFC 6750: every 401 names the scheme a client should use. */
const WWW_AUTHENTICATE = 'Bearer realm="txwatch"';

/**
 * The answer to a domain module's field error (a transaction or a query that breaks its schema):
 * TXW_ERR_VALIDATION with the same field and message.
 */
export function validationErrorOf(error: FieldError): ValidationError {
  return new ValidationError(error.field, error.message);
}

/**
 * Maps the domain's field errors and Fastify's own errors onto the catalogue; anything unknown
 * becomes an opaque 500.
 */
function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof FieldError) return validationErrorOf(error);
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("TXW_ERR_PAYLOAD_TOO_LARGE", "request body is too large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError("TXW_ERR_UNSUPPORTED_MEDIA_TYPE", "body must be application/json");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ApiError("TXW_ERR_VALIDATION", "body must be a JSON object");
  }
  if (error.statusCode === 400) {
    return new ApiError("TXW_ERR_VALIDATION", "body is not valid JSON");
  }
  if (error.statusCode === 413) {
    return new ApiError("TXW_ERR_PAYLOAD_TOO_LARGE", "request body is too large");
  }
  if (error.statusCode === 415) {
    return new ApiError("TXW_ERR_UNSUPPORTED_MEDIA_TYPE", "body must be application/json");
  }
  return new ApiError("TXW_ERR_INTERNAL", "internal error");
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error);
    if (error instanceof DependencyError) {
      // The outage itself is logged once by its dependency's tracker (REL-2), and each refused
      // request by the request log with its 503: one error line per request would flood the log
      // for as long as the outage lasts.
      request.log.debug(
        { err: error.cause, dependency: error.dependency },
        "request refused: a dependency is unavailable",
      );
    } else if (apiError.status >= 500 && !(error instanceof ApiError)) {
      // Only what no code meant to answer (a defect, a driver's surprise) has its stack logged.
      // A 503 a route chose (the stream took none of a request's transactions, the server is
      // closing) is told by the request's line with its code (OPS-4), once per request and
      // without a stack, like a dependency's 503 above.
      request.log.error({ err: error, code: apiError.code }, "request failed");
    }
    request.errorCode = apiError.code;
    if (apiError.status === 401) void reply.header("www-authenticate", WWW_AUTHENTICATE);
    // API.md: every 503 says when to retry.
    if (apiError.status === 503 && !reply.hasHeader("retry-after")) {
      void reply.header("retry-after", String(DEPENDENCY_RETRY_AFTER_S));
    }
    void reply.headers(SECURITY_HEADERS).status(apiError.status).send(apiError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    // A path served with other methods is a 405 naming them (SEC-6); neither answer repeats
    // the path, which is the client's text (SEC-5).
    const allowed = allowedMethods(app, request.url);
    if (allowed.length > 0) {
      const err = new ApiError(
        "TXW_ERR_METHOD_NOT_ALLOWED",
        `method not allowed; allowed: ${allowed.join(", ")}`,
      );
      request.errorCode = err.code;
      void reply.headers(SECURITY_HEADERS).header("allow", allowed.join(", "));
      void reply.status(405).send(err.toBody());
      return;
    }
    const err = new ApiError("TXW_ERR_NOT_FOUND", "no such route");
    request.errorCode = err.code;
    void reply.headers(SECURITY_HEADERS).status(404).send(err.toBody());
  });
}

function allowedMethods(app: FastifyInstance, url: string): string[] {
  const path = url.split("?")[0]!;
  return METHODS.filter((method) => {
    try {
      return app.findRoute({ method, url: path }) !== null;
    } catch {
      return false;
    }
  });
}
