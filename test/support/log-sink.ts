import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/observability/logger.ts";

/** One JSON log line as pino writes it: level, msg and the entry's own fields. */
export type LoggedLine = { level: number; msg: string } & Record<string, unknown>;

/** A logger whose lines a test reads back: as written (text) or parsed (lines). */
export function logSink(level = "debug"): {
  log: Logger;
  text: () => string;
  lines: () => LoggedLine[];
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const text = () => chunks.join("");
  return {
    log: createLogger(level, sink),
    text,
    lines: () =>
      text()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as LoggedLine),
  };
}
