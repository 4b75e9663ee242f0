import type { AlertPublisher } from "../alerts/publisher.ts";
import type { HistoryStore } from "../history/types.ts";
import type { Alert, AlertDraft, Ledger, LedgerRecord, QuarantineRecord } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { CompiledRuleset } from "../rules/types.ts";
import type { BatchResponse, ConsumedRecord } from "../stream/types.ts";
import { transactionKey } from "../transaction/key.ts";
import type { StreamEnvelope } from "../transaction/types.ts";
import { failureRunsOf } from "./failure-runs.ts";
import { historyItemOf } from "./history-item.ts";
import { noteIncompleteHistory, raisesAlert } from "./history-note.ts";
import { logOutcome } from "./outcome-log.ts";
import { parseRecord, quarantineRow } from "./parse-record.ts";
import { type QuarantineKind, reportQuarantined } from "./quarantine-report.ts";
import { refusalOf } from "./refusal.ts";
import { settleInOrder } from "./settle-in-order.ts";

/** Extra attempts of a refused batch (and of the one record left) before it is split (quarantined). */
const REFUSAL_RETRIES = 2;
const REFUSAL_RETRY_PAUSE_MS = 50;

export interface ProcessorDeps {
  history: HistoryStore;
  ledger: Ledger;
  /** Read on every batch, so a ruleset swapped at run time applies from the next batch. */
  ruleset: () => CompiledRuleset;
  alerts: AlertPublisher;
  log: Logger;
  metrics?: Metrics;
  /**
   * Names the stream in quarantine rows, e.g. "local" or the Kinesis stream name; a record's
   * origin (log instance and partition, or shard) is appended, see `sourceOf`.
   */
  source: string;
  now?: () => number;
  /** Told how many records were newly quarantined (the Lambda publishes it to CloudWatch). */
  onQuarantined?: (kind: QuarantineKind, count: number) => void;
}

/** One record of a batch in stream order: a valid envelope, or a malformed record's row. */
interface Unit {
  /** Its index in the batch, from which a failure hands the batch back. */
  index: number;
  record: ConsumedRecord;
  envelope?: StreamEnvelope;
  quarantine?: QuarantineRecord;
}

/** Alerts for a review/block decision: one per rule that contributed (unique per tx and rule). */
function alertDrafts(record: LedgerRecord): AlertDraft[] {
  const { tx, decision } = record;
  if (decision.action === "allow") return [];
  return decision.reasons.filter(raisesAlert).map((reason) => ({
    merchantId: tx.merchantId,
    transactionId: tx.transactionId,
    customerId: tx.customerId,
    rule: reason.rule,
    action: decision.action,
    score: reason.score,
    detail: reason.detail,
  }));
}

/**
 * The quarantine row's source: with the sequence number it must name one stream record among
 * all that feed the ledger, and sequence numbers alone repeat across shards and log directories:
 * `local:<instanceId>:<partition>`, `<stream>:<shardId>`.
 */
export function sourceOf(record: ConsumedRecord, stream: string): string {
  return record.origin === undefined ? stream : `${stream}:${record.origin}`;
}

/**
 * The one processing function (PRC-1), called by the Lambda handler and the local poller:
 * parse -> 24 h history (one script per transaction, one round trip) -> rules -> one ledger
 * transaction -> publish alerts. Every step is idempotent by transaction id, so a redelivered
 * batch changes nothing. Malformed records are quarantined, not failed. A record the ledger or
 * the history refuses for good (REL-5, see refusalOf) is found by splitting the batch and
 * quarantined, and the records around it are committed in order (settleInOrder). A dependency
 * failure hands the batch back from the first record not committed, so the stream redelivers
 * from there; it never quarantines anything.
 */
export async function processBatch(
  records: ConsumedRecord[],
  deps: ProcessorDeps,
): Promise<BatchResponse> {
  const started = process.hrtime.bigint();
  const now = deps.now ?? Date.now;
  const ruleset = deps.ruleset();
  const units: Unit[] = [];
  // A producer retry can put the same transaction twice in one batch; the first one counts.
  const seen = new Set<string>();
  for (const [index, record] of records.entries()) {
    const parsed = parseRecord(record, sourceOf(record, deps.source));
    if (!parsed.ok) {
      units.push({ index, record, quarantine: parsed.quarantine });
      continue;
    }
    const key = transactionKey(parsed.envelope.tx);
    if (seen.has(key)) continue;
    seen.add(key);
    units.push({ index, record, envelope: parsed.envelope });
  }

  const created: Alert[] = [];
  const unsettled = await settleInOrder(units, {
    commit: async (slice) => {
      created.push(...(await commitUnits(slice, ruleset, deps, now)));
    },
    quarantine: (unit, reason) => quarantineRefused(unit, reason, deps),
    refusal: refusalOf,
    retries: REFUSAL_RETRIES,
    retryPauseMs: REFUSAL_RETRY_PAUSE_MS,
  });
  // What was committed stays committed, and its alerts are not created again on redelivery.
  await publish(created, deps);
  const runs = failureRunsOf(deps.log);
  const partition = records[0] === undefined ? deps.source : sourceOf(records[0], deps.source);
  if (unsettled === undefined) {
    runs.succeeded(deps.log, partition);
    deps.metrics?.batchDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return { batchItemFailures: [] };
  }
  deps.metrics?.batchFailures.inc();
  runs.failed(deps.log, partition, unsettled.error, records.length);
  const from = units[unsettled.failedAt]!.index;
  return {
    batchItemFailures: records.slice(from).map((r) => ({ itemIdentifier: r.sequenceNumber })),
  };
}

/**
 * Decides and commits one slice of a batch in one ledger transaction: history, rules, then the
 * records with their alerts and the slice's malformed records. Returns the alerts it created.
 */
async function commitUnits(
  units: readonly Unit[],
  ruleset: CompiledRuleset,
  deps: ProcessorDeps,
  now: () => number,
): Promise<Alert[]> {
  const envelopes = units.flatMap((u) => (u.envelope === undefined ? [] : [u.envelope]));
  const quarantined = units.flatMap((u) => (u.quarantine === undefined ? [] : [u.quarantine]));
  const at = now();
  const items = envelopes.map((env) => historyItemOf(env, ruleset.plan(env.tx)));
  const histories = await deps.history.recordBatch(items, at);
  const decidedAt = new Date(at).toISOString();
  const ledgerRecords: LedgerRecord[] = envelopes.map((env, i) => ({
    tx: env.tx,
    receivedAt: env.receivedAt,
    decision: {
      ...noteIncompleteHistory(
        ruleset.evaluate(env.tx, items[i]!.eventTime, histories[i]!),
        histories[i]!,
      ),
      decidedAt,
    },
  }));
  const drafts = ledgerRecords.flatMap(alertDrafts);
  // A batch comes from one partition (shard): its rows go on that partition's hash chain, so
  // batches of other partitions commit meanwhile (SCL-3).
  const result = await deps.ledger.commitBatch(ledgerRecords, drafts, quarantined, {
    partition: units[0]?.record.origin,
  });
  observe(deps, result.inserted, result.alerts.length, now());
  logOutcome(deps.log, result.inserted, result.alerts);
  // Counted only when new: a redelivered batch finds its malformed records stored already.
  if (result.quarantined > 0) reportQuarantined(deps, quarantined, "malformed");
  return result.alerts;
}

/** Stores the record refused for good in quarantine instead, and raises the operator's alert. */
async function quarantineRefused(unit: Unit, reason: string, deps: ProcessorDeps): Promise<void> {
  const row = quarantineRow(unit.record, sourceOf(unit.record, deps.source), reason);
  const result = await deps.ledger.commitBatch([], [], [row], { partition: unit.record.origin });
  const kind = unit.envelope === undefined ? "malformed" : "refused";
  if (result.quarantined > 0) reportQuarantined(deps, [row], kind);
}

async function publish(alerts: Alert[], deps: ProcessorDeps): Promise<void> {
  if (alerts.length === 0) return;
  try {
    await deps.alerts.publish(alerts);
  } catch (error) {
    // Stored alerts stay queryable; delivery is best effort and counted.
    deps.metrics?.alertPublishFailures.inc(alerts.length);
    deps.log.warn({ err: error, alerts: alerts.length }, "alert publish failed");
  }
}

function observe(deps: ProcessorDeps, inserted: LedgerRecord[], alerts: number, at: number): void {
  const metrics = deps.metrics;
  if (metrics === undefined) return;
  for (const record of inserted) {
    metrics.decisions.inc({ action: record.decision.action });
    for (const reason of record.decision.reasons) metrics.ruleHits.inc({ rule: reason.rule });
    metrics.decisionLatency.observe((at - Date.parse(record.receivedAt)) / 1000);
  }
  if (alerts > 0) metrics.alerts.inc(alerts);
}
