import type { Action, Decision, Transaction } from "../transaction/types.ts";

/** One decided transaction, ready for the ledger. */
export interface LedgerRecord {
  tx: Transaction;
  /** When the API accepted it (ISO 8601). */
  receivedAt: string;
  decision: Decision;
}

/** An alert the processor wants raised for a review/block decision: one per fired rule. */
export interface AlertDraft {
  merchantId: string;
  transactionId: string;
  customerId: string;
  rule: string;
  action: Action;
  score: number;
  detail: string;
}

export type AlertStatus = "open" | "acknowledged" | "closed";

export interface Alert extends AlertDraft {
  id: string;
  status: AlertStatus;
  createdAt: string;
  updatedAt: string;
  /** Analysts' notes in order, with the status change they came with. */
  notes: { at: string; status: AlertStatus; note: string }[];
}

/**
 * A stream record set aside with its reason: one that could not be parsed or validated (PRC-1),
 * or a valid one the ledger or the history refused for good (REL-5).
 */
export interface QuarantineRecord {
  source: string;
  sequenceNumber: string;
  partitionKey: string;
  reason: string;
  /** The record's text with anything card-number-like masked. */
  payload: string;
}

export interface StoredTransaction {
  transaction: Transaction;
  receivedAt: string;
  recordedAt: string;
  decision: Decision;
  /** Unique in the ledger, and growing along the row's hash chain (not consecutive). */
  seq: string;
}

/** What the 24-hour history keeps of a stored transaction: all a rebuild reads (REL-6). */
export interface HistoryRow {
  /**
   * The row's place in the scan (opaque): scanHistory(from, cursor) goes on after this row, so a
   * rebuild cut short is resumed by another process where it stopped.
   */
  cursor: string;
  merchantId: string;
  transactionId: string;
  customerId: string;
  /** Milliseconds since the epoch. */
  occurredAt: number;
  receivedAt: number;
  amount: number;
  currency: string;
  country?: string;
  cardToken?: string;
  deviceId?: string;
  ipAddress?: string;
}

export interface AlertFilter {
  status?: AlertStatus;
  customerId?: string;
  rule?: string;
  /** ISO 8601 instants bounding createdAt: from inclusive, to exclusive. */
  from?: string;
  to?: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}

export type AlertTransition = "acknowledge" | "close";

export type TransitionOutcome =
  | { kind: "ok"; alert: Alert }
  | { kind: "not_found" }
  | { kind: "conflict"; status: AlertStatus };

export interface CommitOptions {
  /**
   * The stream partition or shard the batch came from (a record's `origin`): batches of one
   * partition commit on one hash chain, those of different partitions side by side (SCL-3).
   * Absent: chain 0.
   */
  partition?: string;
}

export interface CommitResult {
  /** Records that were new (the others were already in the ledger: redelivery). */
  inserted: LedgerRecord[];
  /** Alerts created by this commit, for publishing. */
  alerts: Alert[];
  quarantined: number;
}

/** Where the alert outbox delivers (REL-6); each channel has its own delivery cursor. */
export type AlertChannelName = "webhook" | "sns";

/** An alert a channel gives up on, recorded as it moves past it. */
export interface AlertDeadLetterDraft {
  alertId: string;
  /** The receiver's answer or why the channel stopped trying; never a URL nor alert content. */
  reason: string;
  /** Delivery attempts made (0 when it expired before one). */
  attempts: number;
}

export interface AlertDeadLetter extends AlertDeadLetterDraft {
  id: string;
  channel: AlertChannelName;
  deadLetteredAt: string;
}

/** A channel's delivery state, for its gauge, operators and tests. */
export interface AlertChannelState {
  channel: AlertChannelName;
  /** The last alert id settled (delivered or dead-lettered); "0" before any. */
  cursor: string;
  /** Alerts committed after the cursor. */
  undelivered: number;
  /** The process delivering the channel, and until when (ISO 8601); null when none holds it. */
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  deadLetters: number;
}

/** How one hash chain verified (SCL-3). */
export interface ChainCheck {
  chain: number;
  /** Rows of the chain verified sound (up to the first bad one). */
  rows: number;
  /** The last sound row; null when none. */
  headSeq: string | null;
  headHash: string | null;
  /** Why the chain is not sound; absent when it is. */
  problem?: string;
}

/** How the checkpoints verified (SCL-3). */
export interface CheckpointCheck {
  /** Checkpoints verified sound (up to the first bad one). */
  checked: number;
  /** The last sound checkpoint and the chains it covers; null when none. */
  last: { id: string; createdAt: string; chains: number } | null;
  /** The first checkpoint that is broken or names a head its chain does not hold. */
  firstBad?: { id: string; reason: string };
}

export interface ChainVerification {
  ok: boolean;
  /** Rows verified sound, over every chain. */
  checked: number;
  /** Every chain that holds rows or was registered, by id. */
  chains: ChainCheck[];
  checkpoints: CheckpointCheck;
  /**
   * The first row found wrong (lowest chain first), when not ok because of one. `seq` is null
   * for a row that is missing altogether: an accepted key without its row (cut from the end).
   */
  firstBad?: {
    chain: number;
    seq: string | null;
    merchantId: string;
    transactionId: string;
    reason: string;
  };
}

export interface ApiKeyRecord {
  id: string;
  merchantId: string;
}

/** Who acted on a key (SEC-7), as recorded in the append-only api_key_events. */
export const API_KEY_ACTORS = ["cli", "admin-socket", "aws-admin", "monitor", "api"] as const;
export type ApiKeyActor = (typeof API_KEY_ACTORS)[number];

export type ApiKeyEventKind = "created" | "rotated" | "revoked" | "expired_refused";

/** A key as listed: never the key nor its hash. Instants are ISO 8601 (UTC). */
export interface ApiKeyInfo {
  id: string;
  merchantId: string;
  createdAt: string;
  /** When it stops working by itself; null: never. */
  expiresAt: string | null;
  /** When it was (or, rotated and in its grace period, will be) revoked; null: not revoked. */
  revokedAt: string | null;
  /** Whether it authenticates now. */
  active: boolean;
}

/** What the API needs to authenticate with a key and to cache it (SEC-7). */
export interface ApiKeyResolution {
  record: ApiKeyRecord;
  state: "active" | "expired" | "revoked";
  /** ISO 8601 instants, or null: when the key expires, when it is (or was) revoked. */
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface ApiKeyEvent {
  id: string;
  keyId: string;
  merchantId: string;
  event: ApiKeyEventKind;
  actor: ApiKeyActor;
  at: string;
  detail: Record<string, unknown>;
}

export interface NewApiKeyOptions {
  /** @default "monitor" (the demo key of a first start) */
  actor?: ApiKeyActor;
  /** ISO 8601; absent: the key does not expire. */
  expiresAt?: string;
}

export interface RotationResult {
  key: ApiKeyRecord & { expiresAt: string | null };
  /** The merchant's keys that were active, now revoked at the end of the grace period. */
  rotated: ApiKeyInfo[];
}

/**
 * The ledger port (PRC-4). Implementations: PostgreSQL (pg) and embedded (PGlite), one SQL.
 * Every transaction is stored once per (merchantId, transactionId); ledger rows are
 * append-only and hash-chained.
 */
export interface Ledger {
  /** Applies pending migrations in order; returns the names applied. */
  migrate(): Promise<string[]>;
  /**
   * In one database transaction: inserts the new records with their decisions, the alerts of
   * the new records only, and the quarantined records. Idempotent under redelivery.
   */
  commitBatch(
    records: LedgerRecord[],
    alerts: AlertDraft[],
    quarantined: QuarantineRecord[],
    options?: CommitOptions,
  ): Promise<CommitResult>;
  getTransaction(merchantId: string, transactionId: string): Promise<StoredTransaction | null>;
  /** Of `ids`, those already in the ledger for the merchant. */
  existingIds(merchantId: string, ids: string[]): Promise<Set<string>>;
  listAlerts(
    merchantId: string,
    filter: AlertFilter,
    page: { limit: number; cursor?: string },
  ): Promise<Page<Alert>>;
  getAlert(merchantId: string, alertId: string): Promise<Alert | null>;
  /**
   * The cursor of the alert feed at this moment (the newest alert's position): reading from it
   * gives only alerts committed later.
   */
  alertsTail(): Promise<string>;
  /** The feed's cursor for an instant: after the last alert created before it (alertsCursorAt). */
  alertsCursorAt(instant: Date): Promise<string>;
  /**
   * Every merchant's alerts committed after `cursor` (from alertsTail or the last alert's id),
   * in commit order, at most `limit` (1-1000): what each API task relays to its live streams;
   * with `merchantId`, that merchant's only (an event stream resumed after Last-Event-ID).
   */
  alertsAfter(cursor: string, limit: number, merchantId?: string): Promise<Alert[]>;
  transitionAlert(
    merchantId: string,
    alertId: string,
    transition: AlertTransition,
    note?: string,
  ): Promise<TransitionOutcome>;
  /**
   * The alert outbox (REL-6). Gives the channel its delivery cursor if it has none, at the
   * alerts' tail: only alerts committed later are delivered on it.
   */
  openAlertChannel(channel: AlertChannelName): Promise<void>;
  /**
   * Takes or renews the channel's delivery lease for `owner` for `leaseMs` (database time):
   * the cursor (deliver the alerts after it) when granted, null when another process holds it.
   */
  leaseAlertChannel(
    channel: AlertChannelName,
    owner: string,
    leaseMs: number,
  ): Promise<string | null>;
  /**
   * As the lease's holder, in one transaction: moves the cursor forward to `cursor`, records the
   * dead letters and renews the lease; false, nothing written, when `owner` lost the lease.
   */
  advanceAlertChannel(
    channel: AlertChannelName,
    owner: string,
    leaseMs: number,
    cursor: string,
    deadLetters: AlertDeadLetterDraft[],
  ): Promise<boolean>;
  /** Gives up `owner`'s lease, so another process may deliver the channel at once. */
  releaseAlertChannel(channel: AlertChannelName, owner: string): Promise<void>;
  /** The channel's cursor, backlog, lease and dead-letter count; null if never opened. */
  alertChannelState(channel: AlertChannelName): Promise<AlertChannelState | null>;
  /** Dead letters, newest first, of one channel or all; limit 1-1000. */
  listAlertDeadLetters(
    channel: AlertChannelName | undefined,
    limit: number,
  ): Promise<AlertDeadLetter[]>;
  /** Transactions recorded for a merchant with occurredAt in [from, to), oldest first. */
  exportTransactions(
    merchantId: string,
    from: string,
    to: string,
  ): AsyncIterable<StoredTransaction>;
  /** All merchants' transactions with occurredAt in [from, to), oldest first (replay). */
  scanTransactions(from: string, to: string, merchantId?: string): AsyncIterable<StoredTransaction>;
  /**
   * All merchants' transactions with occurredAt at or after `from`, oldest first, as the history
   * keeps them: the columns it needs only, read a large page at a time (history rebuilds, REL-6).
   * With `after` (a row's cursor, from the same `from`), only the rows after that one.
   */
  scanHistory(from: string, after?: string): AsyncIterable<HistoryRow>;
  listQuarantine(limit: number): Promise<(QuarantineRecord & { quarantinedAt: string })[]>;
  /**
   * Stores the SHA-256 of a new API key (the key itself is never stored) and audits its
   * creation, in one transaction.
   */
  insertApiKey(
    merchantId: string,
    keyHash: string,
    options?: NewApiKeyOptions,
  ): Promise<ApiKeyRecord>;
  /** The key's merchant when the key authenticates now (not revoked, not expired). */
  findApiKey(keyHash: string): Promise<ApiKeyRecord | null>;
  /** The key's merchant and state, for the API's authentication and its cache (SEC-7). */
  resolveApiKey(keyHash: string): Promise<ApiKeyResolution | null>;
  /** Keys that authenticate now. */
  countApiKeys(merchantId: string): Promise<number>;
  /** Every key of a merchant, oldest first (SEC-7). */
  listApiKeys(merchantId: string): Promise<ApiKeyInfo[]>;
  /** One key by id, or null. */
  getApiKey(id: string): Promise<ApiKeyInfo | null>;
  /**
   * Revokes a key now, audited (SEC-7): true when it was not revoked yet (a key in its rotation
   * grace period is revoked now); false for an unknown or already revoked key (not audited).
   */
  revokeApiKey(id: string, actor?: ApiKeyActor): Promise<boolean>;
  /**
   * In one transaction: a new key for the merchant, and its active keys revoked at
   * now + graceMs (sooner if they expire or were due to be revoked sooner), all audited.
   */
  rotateApiKeys(
    merchantId: string,
    newKeyHash: string,
    options: NewApiKeyOptions & { graceMs: number },
  ): Promise<RotationResult>;
  /** Audits that the API refused an expired key: once per key, later calls do nothing. */
  recordExpiredKeyUse(keyId: string): Promise<void>;
  /**
   * Grows whenever a key is revoked or rotated (never shrinks): the API polls it to drop the
   * keys it cached (SEC-7).
   */
  apiKeyGeneration(): Promise<string>;
  /** A merchant's key events, oldest first. */
  listApiKeyEvents(merchantId: string): Promise<ApiKeyEvent[]>;
  /** Recomputes every hash chain over its rows and checks the checkpoints that tie them. */
  verifyChain(): Promise<ChainVerification>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
