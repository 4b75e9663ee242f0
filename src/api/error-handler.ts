import type { FastifyError, FastifyInstance } from "fastify";
import { ApiError, DependencyError } from "../errors.ts";

/** Maps Fastify's own errors onto the catalogue; anything unknown becomes an opaque 500. */
function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
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
    if (apiError.status >= 500) {
      const cause = error instanceof DependencyError ? error.cause : error;
      request.log.error({ err: cause, code: apiError.code }, "request failed");
    }
    void reply.status(apiError.status).send(apiError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new ApiError(
      "TXW_ERR_NOT_FOUND",
      `no route ${request.method} ${request.url.split("?")[0]}`,
    );
    void reply.status(404).send(err.toBody());
  });
}
