import { type DestinationStream, type Logger, pino } from "pino";

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "txwatch" },
      serializers: { req: serializeRequest, res: serializeReply },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
