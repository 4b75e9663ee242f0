import { type DestinationStream, type Logger, pino } from "pino";
import { safeErrorFields } from "../errors.ts";
import { maskCardNumbers } from "../transaction/card-number.ts";

/**
 * Paths that may carry secrets or card data. Transactions are tokenized before anything logs
 * them; the redaction is the second line of defence.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "headers.authorization",
  "authorization",
  "apiKey",
  "key",
  "tokenKey",
  "password",
  "*.number",
  "*.*.number",
  "paymentMethod.card.number",
  "*.paymentMethod.card.number",
];

interface LoggedRequest {
  method?: string;
  routeOptions?: { url?: string };
  merchant?: { merchantId?: string };
}

interface LoggedReply {
  statusCode?: number;
  request?: LoggedRequest;
}

/**
 * The request serializer, an allow-list (SEC-5): the method, the route's pattern
 * ("/v1/transactions/:transactionId", never the path the client sent, whose ids and query are
 * its text), and the merchant once authenticated (the request id is bound as `reqId`). No
 * header is logged: Host, Accept-Version and the rest are the client's text. Set on the logger,
 * so it replaces Fastify's default wherever a line carries the request: the request's own line
 * is written by src/api/request-log.ts from the same fields, and Fastify's remaining lines (a
 * failed serializer, a failed writeHead) pass `req` and `res` through these.
 */
function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    route: req.routeOptions?.url,
    merchant: req.merchant?.merchantId,
  };
}

/** A reply: its status, with the route and merchant the request turned out to have. */
function serializeReply(reply: LoggedReply) {
  return {
    statusCode: reply.statusCode,
    route: reply.request?.routeOptions?.url,
    merchant: reply.request?.merchant?.merchantId,
  };
}

interface LoggedError {
  name: string;
  code?: string;
  message: string;
  stack?: string;
  cause?: LoggedError;
}

/** Causes followed at most: a wrapper's wrapper's cause says enough. */
const MAX_CAUSES = 3;

/**
 * The error serializer, an allow-list (SEC-5, OPS-4): name, code and message as
 * safeErrorFields gives them (card numbers masked, credentials cut out of URLs), the stack's
 * frames, and the same of its causes. pino's default writes every own field, and a driver's
 * fields quote data: pg's `detail` ("Failing row contains (...)") holds the row's values, the
 * customer, card token, IP and device among them; `where`, `query` and the like the statement.
 * The stack's first line repeats the raw message, so it is rebuilt from the safe one.
 */
function serializeError(logged: unknown, depth = 0): LoggedError {
  const error = asError(logged);
  const fields: LoggedError = safeErrorFields(error);
  if (!(error instanceof Error)) return fields;
  const frames = (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
  if (frames.length > 0) {
    fields.stack = maskCardNumbers([`${fields.name}: ${fields.message}`, ...frames].join("\n"));
  }
  if (error.cause !== undefined && depth < MAX_CAUSES) {
    fields.cause = serializeError(error.cause, depth + 1);
  }
  return fields;
}

/**
 * An error-shaped object (one a caller built from an error's fields already) as an Error with
 * those fields alone, so that it passes the same allow-list; any other value as it is.
 */
function asError(value: unknown): unknown {
  if (value instanceof Error || typeof value !== "object" || value === null) return value;
  const { name, code, message, stack } = value as Record<string, unknown>;
  if (typeof message !== "string") return value;
  const error = new Error(message);
  if (typeof name === "string") error.name = name;
  if (typeof code === "string") Object.assign(error, { code });
  if (typeof stack === "string") error.stack = stack;
  else delete error.stack;
  return error;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "txwatch" },
      serializers: { req: serializeRequest, res: serializeReply, err: serializeError },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
