import type { Duplex } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors.ts";

/**
 * Errors raised before a request reaches a route (SEC-5): by Node's HTTP parser (header block
 * too large, malformed request, headers or request not received in time) and by Fastify's
 * router (a path that is not valid percent-encoding, a path parameter too long). Each is
 * answered in the catalogue's shape, and none repeats the path or anything else the client sent.
 */

/** Headers on every answer (SEC-6); `no-store` since most answers carry transaction data. */
export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
} as const;

/** Fastify's `frameworkErrors`: its router's errors, before any hook has run. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  let apiError: ApiError;
  switch (error.code) {
    case "FST_ERR_BAD_URL":
      apiError = new ApiError("TXW_ERR_VALIDATION", "the request path is not a valid URL");
      break;
    case "FST_ERR_MAX_PARAM_LENGTH":
      apiError = new ApiError("TXW_ERR_URI_TOO_LONG", "a path segment is too long");
      break;
    default:
      // Fastify's message quotes the path: only the code is logged.
      request.log.error({ code: error.code }, "framework error");
      apiError = new ApiError("TXW_ERR_INTERNAL", "internal error");
  }
  request.errorCode = apiError.code;
  void reply.headers(SECURITY_HEADERS).status(apiError.status).send(apiError.toBody());
}

/** Node's errors for a connection whose request never became one. */
function clientApiError(code: string | undefined): ApiError {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return new ApiError("TXW_ERR_HEADERS_TOO_LARGE", "request headers are too large");
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new ApiError("TXW_ERR_TIMEOUT", "the request was not received in time");
    default:
      return new ApiError("TXW_ERR_VALIDATION", "malformed HTTP request");
  }
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/**
 * Fastify's `clientErrorHandler` (Node's `clientError` event): Node would otherwise answer a
 * bare status line, and Fastify its own JSON. The error's `rawPacket` holds what the client sent,
 * so only its code is logged.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Duplex,
): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const apiError = clientApiError(error.code);
  this.log.debug({ code: error.code, status: apiError.status }, "client error");
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(apiError.toBody());
  socket.end(
    `HTTP/1.1 ${apiError.status} ${REASONS[apiError.status] ?? "Error"}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Content-Type-Options: ${SECURITY_HEADERS["x-content-type-options"]}\r\n` +
      `Cache-Control: ${SECURITY_HEADERS["cache-control"]}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
    () => socket.destroy(),
  );
}
