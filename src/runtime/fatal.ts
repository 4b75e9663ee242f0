import { safeErrorFields } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";

/** Where the message of a fatal error sends the operator. */
export const SUPERVISION_DOC = "docs/operations.md#supervision";

/**
 * What a process that cannot go on says before it ends (REL-2): no dependency outage gets here
 * (the drivers' errors are handled), only a defect. Nothing accepted is lost by the exit: the
 * stream and the ledger are durable and a restart resumes from the last checkpoint, so the
 * line tells the operator to restart it, and to let a supervisor do so next time.
 */
export function fatalHandler(log: Logger, exit: (code: number) => void) {
  return (error: unknown, origin: string): void => {
    log.fatal(
      // Name, code and message with card numbers masked: a defect's text could quote anything.
      { err: safeErrorFields(error), origin },
      `txwatch stopped on an unexpected error; nothing accepted is lost. Restart it, and run it under a supervisor that restarts it (systemd Restart=always, a container restart policy): ${SUPERVISION_DOC}`,
    );
    exit(1);
  };
}

export function installFatalHandlers(log: Logger): void {
  const handle = fatalHandler(log, (code) => {
    // Let pino flush the line first.
    setTimeout(() => process.exit(code), 100).unref();
  });
  process.once("uncaughtException", handle);
  process.once("unhandledRejection", (reason) => handle(reason, "unhandledRejection"));
}
