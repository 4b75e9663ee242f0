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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "txwatch" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
