import type { HistoryStore } from "./types.ts";

/** What a rebuild writes through: HistoryStore.restore (no completeness check, no aggregates). */
export type HistorySink = Pick<HistoryStore, "restore">;

/**
 * What a store is told to do when its 24-hour history is not known complete (REL-6): the Redis
 * store when its generation marker is gone (Redis came back empty), the in-memory store at start.
 * The runtime builds it from the ledger (historyRebuildFrom in src/runtime/history-rebuild.ts).
 */
export interface HistoryRebuild {
  /**
   * Replays the ledger's transactions of the 24 hours before `now` into `into` and answers how
   * many it replayed (with `resume`, those replayed before included). Recording is idempotent by
   * transaction id, so replaying what the store still holds (or what the processor records
   * meanwhile) changes nothing.
   */
  replay(into: HistorySink, now: number, options?: ReplayOptions): Promise<number>;
  events?: RebuildEvents;
  /**
   * How long a process whose store lost its history waits for another process's rebuild to
   * finish before it decides with what the store holds, marking those decisions (Redis only).
   * @default REBUILD_WAIT_MS
   */
  waitMs?: number;
  /**
   * How long a batch may spend on a lost history (waiting for the marker and rebuilding) before
   * it gives up its turn: its rebuild stops at the next saved progress and frees the lock, the
   * batch is decided on what the store holds (marked), and the next batch resumes the rebuild.
   * For a Lambda, whose invocation is killed at its timeout (Redis only). @default no limit
   */
  budgetMs?: number;
}

/** How far a rebuild went, saved beside the lock so that another process can resume it. */
export interface RebuildProgress {
  /** The instant the replay reads from: the first process's now - 24 h, kept by those resuming. */
  from: string;
  /** The ledger's cursor of the last transaction restored (Ledger.scanHistory). */
  cursor: string;
  /** Transactions restored so far, by every process that took part. */
  replayed: number;
}

export interface ReplayOptions {
  /** Where an earlier replay stopped: read from the same instant, after its cursor. */
  resume?: RebuildProgress;
  /**
   * Called after each chunk restored with the progress so far; the replay stops there, answering
   * what it replayed, when this answers false.
   */
  checkpoint?(progress: RebuildProgress): Promise<boolean>;
}

/** Told to the runtime, which logs and counts them; each is called once per occurrence. */
export interface RebuildEvents {
  /** The store was found without its history (Redis restarted empty) and this process rebuilds it. */
  lost?(): void;
  /**
   * This process takes over a rebuild another left unfinished (its time budget ran out, or it
   * died), `replayed` transactions in.
   */
  resumed?(replayed: number): void;
  /**
   * This process's time budget ran out after `replayed` transactions (all processes'): it saved
   * its progress, freed the lock, and decides its batch on what the store holds.
   */
  paused?(replayed: number, ms: number): void;
  rebuilt?(transactions: number, ms: number): void;
  failed?(error: unknown): void;
  /**
   * Another process is rebuilding and this one waited `waitedMs` for it in vain: until the marker
   * is back its decisions are made on an incomplete history, and say so.
   */
  blind?(waitedMs: number): void;
}

/**
 * Long enough for a rebuild of a busy day's thousands of transactions per second to be seen
 * finishing by the processes that wait, short enough that a Lambda invocation (60 s) that
 * waits still decides its batch in time.
 */
export const REBUILD_WAIT_MS = 10_000;
