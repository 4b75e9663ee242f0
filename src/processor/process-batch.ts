import type { AlertPublisher } from "../alerts/publisher.ts";
import type { HistoryStore } from "../history/types.ts";
import type { AlertDraft, Ledger, LedgerRecord } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { CompiledRuleset } from "../rules/types.ts";
import type { BatchResponse, ConsumedRecord } from "../stream/types.ts";
import type { StreamEnvelope } from "../transaction/types.ts";
import { historyItemOf } from "./history-item.ts";
import { parseRecord } from "./parse-record.ts";

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
}

/** Alerts for a review/block decision: one per rule that contributed (unique per tx and rule). */
function alertDrafts(record: LedgerRecord): AlertDraft[] {
  const { tx, decision } = record;
  if (decision.action === "allow") return [];
  return decision.reasons.map((reason) => ({
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
 * batch changes nothing. A dependency failure fails the whole batch (reported per record, so
 * the stream redelivers from the first); malformed records are quarantined, not failed.
 */
export async function processBatch(
  records: ConsumedRecord[],
  deps: ProcessorDeps,
): Promise<BatchResponse> {
  const started = process.hrtime.bigint();
  const now = deps.now ?? Date.now;
  const ruleset = deps.ruleset();
  const envelopes: StreamEnvelope[] = [];
  const quarantined = [];
  // A producer retry can put the same transaction twice in one batch; the first one counts.
  const seen = new Set<string>();
  for (const record of records) {
    const parsed = parseRecord(record, sourceOf(record, deps.source));
    if (!parsed.ok) {
      quarantined.push(parsed.quarantine);
      continue;
    }
    const key = `${parsed.envelope.tx.merchantId}\u0000${parsed.envelope.tx.transactionId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    envelopes.push(parsed.envelope);
  }

  try {
    const at = now();
    const items = envelopes.map((env) => historyItemOf(env, ruleset.plan(env.tx)));
    const histories = await deps.history.recordBatch(items, at);
    const decidedAt = new Date(at).toISOString();
    const ledgerRecords: LedgerRecord[] = envelopes.map((env, i) => ({
      tx: env.tx,
      receivedAt: env.receivedAt,
      decision: {
        ...ruleset.evaluate(env.tx, items[i]!.eventTime, histories[i]!),
        decidedAt,
      },
    }));
    const drafts = ledgerRecords.flatMap(alertDrafts);
    const result = await deps.ledger.commitBatch(ledgerRecords, drafts, quarantined);
    observe(deps, result.inserted, result.quarantined, result.alerts.length, now());
    if (result.alerts.length > 0) {
      try {
        await deps.alerts.publish(result.alerts);
      } catch (error) {
        // Stored alerts stay queryable; delivery is best effort and counted.
        deps.metrics?.alertPublishFailures.inc(result.alerts.length);
        deps.log.warn({ err: error, alerts: result.alerts.length }, "alert publish failed");
      }
    }
    deps.metrics?.batchDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return { batchItemFailures: [] };
  } catch (error) {
    deps.metrics?.batchFailures.inc();
    deps.log.error(
      { err: error, records: records.length },
      "batch failed; handing back for redelivery",
    );
    return {
      batchItemFailures: records.map((r) => ({ itemIdentifier: r.sequenceNumber })),
    };
  }
}

function observe(
  deps: ProcessorDeps,
  inserted: LedgerRecord[],
  quarantined: number,
  alerts: number,
  at: number,
): void {
  const metrics = deps.metrics;
  if (metrics === undefined) return;
  for (const record of inserted) {
    metrics.decisions.inc({ action: record.decision.action });
    for (const reason of record.decision.reasons) metrics.ruleHits.inc({ rule: reason.rule });
    metrics.decisionLatency.observe((at - Date.parse(record.receivedAt)) / 1000);
  }
  if (quarantined > 0) metrics.quarantined.inc(quarantined);
  if (alerts > 0) metrics.alerts.inc(alerts);
}
