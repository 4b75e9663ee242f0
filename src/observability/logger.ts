import { type DestinationStream, type Logger, pino } from "pino";
import { containsCardNumber, redactCardNumbers } from "../transaction/card-number.ts";

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

/** Percent-decoded for the check, so "4111%201111%201111%201111" is found too. */
function decodedUrl(url: string): string {
  try {
    return decodeURIComponent(url.replaceAll("+", " "));
  } catch {
    return url;
  }
}

/**
 * A request URL as it may be logged (PRIV-1): ids and query values are the client's text, so a
 * card number in them is replaced; any other URL is logged as it came.
 */
export function loggableUrl(url: string): string {
  const decoded = decodedUrl(url);
  return containsCardNumber(decoded) ? redactCardNumbers(decoded) : url;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request serializer (the fields it logs with "incoming request") with the URL made
 * loggable. Set on the logger, so it replaces Fastify's default for every request log line.
 */
function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: typeof req.url === "string" ? loggableUrl(req.url) : req.url,
    version: req.headers?.["accept-version"],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "txwatch" },
      serializers: { req: serializeRequest },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
