import * as delivery from "./alert-delivery-repo.ts";
import * as alerts from "./alerts-repo.ts";
import * as keys from "./api-keys-repo.ts";
import {
  assertChainCount,
  type CheckpointPolicy,
  chainOf,
  DEFAULT_CHECKPOINTS,
  DEFAULT_LEDGER_CHAINS,
} from "./chains.ts";
import { commitBatch, ensureMonthPartitions, monthsToPrepare } from "./commit.ts";
import { GroupCommitter } from "./group-commit.ts";
import { historyRows } from "./history-rows.ts";
import { migrate } from "./migrate.ts";
import type { SqlClient } from "./sql-client.ts";
import * as txs from "./transactions-repo.ts";
import type {
  Alert,
  AlertChannelName,
  AlertChannelState,
  AlertDeadLetter,
  AlertDeadLetterDraft,
  AlertDraft,
  AlertFilter,
  AlertTransition,
  ApiKeyActor,
  ApiKeyEvent,
  ApiKeyInfo,
  ApiKeyRecord,
  ApiKeyResolution,
  ChainVerification,
  CommitOptions,
  CommitResult,
  HistoryRow,
  Ledger,
  LedgerRecord,
  NewApiKeyOptions,
  Page,
  QuarantineRecord,
  RotationResult,
  StoredTransaction,
  TransitionOutcome,
} from "./types.ts";
import { verifyChain } from "./verify.ts";

/** How a ledger spreads its commits over hash chains (SCL-3). */
export interface ChainOptions {
  /** @default DEFAULT_LEDGER_CHAINS */
  chains?: number;
  /** @default DEFAULT_CHECKPOINTS */
  checkpoints?: CheckpointPolicy;
}

/**
 * The Ledger port over a SqlClient: the same SQL whether the client is a pg pool or PGlite.
 * Thin on purpose; the SQL lives in the repository functions, which take the client first.
 */
export class SqlLedger implements Ledger {
  /** Months whose partition this process has already made sure of. */
  private readonly preparedMonths = new Set<string>();
  private closed = false;
  /** One group committer per chain: batches of different chains never wait for each other. */
  private readonly committers = new Map<number, GroupCommitter>();
  private readonly chains: number;
  private readonly checkpoints: CheckpointPolicy;
  /**
   * Told when batches committed together failed as a group, before each is committed alone
   * (those that then fail are reported to their callers). The runtime logs it.
   */
  onGroupFailure: (error: unknown, batches: number) => void = () => {};

  constructor(
    /** Exposed for administration and tests (raw SQL through the same connection). */
    readonly db: SqlClient,
    private readonly now: () => number = Date.now,
    options: ChainOptions = {},
  ) {
    this.chains = options.chains ?? DEFAULT_LEDGER_CHAINS;
    assertChainCount(this.chains);
    this.checkpoints = options.checkpoints ?? DEFAULT_CHECKPOINTS;
  }

  migrate(): Promise<string[]> {
    return migrate(this.db);
  }

  async commitBatch(
    records: LedgerRecord[],
    alertDrafts: AlertDraft[],
    quarantined: QuarantineRecord[],
    options: CommitOptions = {},
  ): Promise<CommitResult> {
    if (records.length > 0) await this.preparePartitions();
    const chain = chainOf(options.partition, this.chains);
    const stored = await this.committerOf(chain).submit(records, alertDrafts, quarantined);
    return { ...stored, quarantined: stored.quarantined.length };
  }

  private committerOf(chain: number): GroupCommitter {
    let committer = this.committers.get(chain);
    if (committer === undefined) {
      const target = { chain, checkpoints: this.checkpoints };
      committer = new GroupCommitter(
        (records, alerts, quarantined) =>
          commitBatch(this.db, records, alerts, quarantined, target),
        (error, batches) => this.onGroupFailure(error, batches),
      );
      this.committers.set(chain, committer);
    }
    return committer;
  }

  /**
   * Partition DDL locks the parent table, so it runs outside the batch transaction and only
   * when this process has not yet seen the month: at most a few times a month.
   */
  private async preparePartitions(): Promise<void> {
    const missing = monthsToPrepare(this.now()).filter((m) => !this.preparedMonths.has(m));
    if (missing.length === 0) return;
    await ensureMonthPartitions(this.db, missing);
    for (const month of missing) this.preparedMonths.add(month);
  }

  getTransaction(merchantId: string, transactionId: string): Promise<StoredTransaction | null> {
    return txs.getTransaction(this.db, merchantId, transactionId);
  }

  existingIds(merchantId: string, ids: string[]): Promise<Set<string>> {
    return txs.existingIds(this.db, merchantId, ids);
  }

  listAlerts(
    merchantId: string,
    filter: AlertFilter,
    page: { limit: number; cursor?: string },
  ): Promise<Page<Alert>> {
    return alerts.listAlerts(this.db, merchantId, filter, page);
  }

  getAlert(merchantId: string, alertId: string): Promise<Alert | null> {
    return alerts.getAlert(this.db, merchantId, alertId);
  }

  alertsTail(): Promise<string> {
    return alerts.alertsTail(this.db);
  }

  alertsCursorAt(instant: Date): Promise<string> {
    return alerts.alertsCursorAt(this.db, instant);
  }

  alertsAfter(cursor: string, limit: number, merchantId?: string): Promise<Alert[]> {
    return alerts.alertsAfter(this.db, cursor, limit, merchantId);
  }

  transitionAlert(
    merchantId: string,
    alertId: string,
    transition: AlertTransition,
    note?: string,
  ): Promise<TransitionOutcome> {
    return alerts.transitionAlert(this.db, merchantId, alertId, transition, note);
  }

  openAlertChannel(channel: AlertChannelName): Promise<void> {
    return delivery.openAlertChannel(this.db, channel);
  }

  leaseAlertChannel(
    channel: AlertChannelName,
    owner: string,
    leaseMs: number,
  ): Promise<string | null> {
    return delivery.leaseAlertChannel(this.db, channel, owner, leaseMs);
  }

  advanceAlertChannel(
    channel: AlertChannelName,
    owner: string,
    leaseMs: number,
    cursor: string,
    deadLetters: AlertDeadLetterDraft[],
  ): Promise<boolean> {
    return delivery.advanceAlertChannel(this.db, channel, owner, leaseMs, cursor, deadLetters);
  }

  releaseAlertChannel(channel: AlertChannelName, owner: string): Promise<void> {
    return delivery.releaseAlertChannel(this.db, channel, owner);
  }

  alertChannelState(channel: AlertChannelName): Promise<AlertChannelState | null> {
    return delivery.alertChannelState(this.db, channel);
  }

  listAlertDeadLetters(
    channel: AlertChannelName | undefined,
    limit: number,
  ): Promise<AlertDeadLetter[]> {
    return delivery.listAlertDeadLetters(this.db, channel, limit);
  }

  exportTransactions(
    merchantId: string,
    from: string,
    to: string,
  ): AsyncIterable<StoredTransaction> {
    return txs.pagedTransactions(this.db, { from, to, merchantId });
  }

  scanTransactions(
    from: string,
    to: string,
    merchantId?: string,
  ): AsyncIterable<StoredTransaction> {
    return txs.pagedTransactions(this.db, {
      from,
      to,
      ...(merchantId !== undefined && { merchantId }),
    });
  }

  scanHistory(from: string, after?: string): AsyncIterable<HistoryRow> {
    return historyRows(this.db, from, after);
  }

  listQuarantine(limit: number): Promise<(QuarantineRecord & { quarantinedAt: string })[]> {
    return txs.listQuarantine(this.db, limit);
  }

  insertApiKey(
    merchantId: string,
    keyHash: string,
    options?: NewApiKeyOptions,
  ): Promise<ApiKeyRecord> {
    return keys.insertApiKey(this.db, merchantId, keyHash, options);
  }

  findApiKey(keyHash: string): Promise<ApiKeyRecord | null> {
    return keys.findApiKey(this.db, keyHash);
  }

  resolveApiKey(keyHash: string): Promise<ApiKeyResolution | null> {
    return keys.resolveApiKey(this.db, keyHash);
  }

  countApiKeys(merchantId: string): Promise<number> {
    return keys.countApiKeys(this.db, merchantId);
  }

  listApiKeys(merchantId: string): Promise<ApiKeyInfo[]> {
    return keys.listApiKeys(this.db, merchantId);
  }

  getApiKey(id: string): Promise<ApiKeyInfo | null> {
    return keys.getApiKey(this.db, id);
  }

  revokeApiKey(id: string, actor?: ApiKeyActor): Promise<boolean> {
    return keys.revokeApiKey(this.db, id, actor);
  }

  rotateApiKeys(
    merchantId: string,
    newKeyHash: string,
    options: NewApiKeyOptions & { graceMs: number },
  ): Promise<RotationResult> {
    return keys.rotateApiKeys(this.db, merchantId, newKeyHash, options);
  }

  recordExpiredKeyUse(keyId: string): Promise<void> {
    return keys.recordExpiredKeyUse(this.db, keyId);
  }

  apiKeyGeneration(): Promise<string> {
    return keys.apiKeyGeneration(this.db);
  }

  listApiKeyEvents(merchantId: string): Promise<ApiKeyEvent[]> {
    return keys.listApiKeyEvents(this.db, merchantId);
  }

  verifyChain(): Promise<ChainVerification> {
    return verifyChain(this.db);
  }

  async ping(): Promise<void> {
    await this.db.query("SELECT 1");
  }

  /** Idempotent: shutdown paths may close twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}
