import { safeErrorFields } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { maskCardNumbers } from "../transaction/card-number.ts";

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
      // Name, code, message and stack with card numbers masked: a defect's text could quote
      // anything, and only the stack says where the defect is.
      {
        err: { ...safeErrorFields(error), ...(stackOf(error) && { stack: stackOf(error) }) },
        origin,
      },
      `txwatch stopped on an unexpected error; nothing accepted is lost. Restart it, and run it under a supervisor that restarts it (systemd Restart=always, a container restart policy): ${SUPERVISION_DOC}`,
    );
    exit(1);
  };
}

export function installFatalHandlers(log: Logger): void {
  let ending = false;
  const handle = fatalHandler(log, (code) => {
    process.exitCode = code;
    // Let pino flush the line first; the timer holds the process open until then.
    setTimeout(() => process.exit(code), 100);
  });
  const once = (error: unknown, origin: string) => {
    if (ending) return;
    ending = true;
    handle(error, origin);
  };
  process.on("uncaughtException", (error, origin) => once(error, origin));
  process.on("unhandledRejection", (reason) => once(reason, "unhandledRejection"));
}

function stackOf(error: unknown): string | undefined {
  return error instanceof Error && error.stack !== undefined
    ? maskCardNumbers(error.stack)
    : undefined;
}
