/**
 * The history cannot be trusted or made whole right now: its generation marker could not be read,
 * or the rebuild from the ledger failed (REL-6). Whatever the underlying error says (a Redis
 * reply, a SQLSTATE the ledger's scan raised), it is not the batch's records' fault, so the
 * processor redelivers the batch and never quarantines for it (refusalOf reads this first and
 * looks no further down its causes).
 */
export class HistoryUnavailableError extends Error {
  constructor(what: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`history unavailable: ${what}: ${detail}`, { cause });
    this.name = "HistoryUnavailableError";
  }
}
