import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The monitor's Prometheus metrics (OPS-1); one registry per runtime so tests stay isolated. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "txwatch_process_" });
  const ingested = new Counter({
    name: "txwatch_ingested_transactions_total",
    help: "Transactions answered by the ingest API, by outcome.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const decisions = new Counter({
    name: "txwatch_decisions_total",
    help: "Transactions decided and committed to the ledger, by action.",
    labelNames: ["action"] as const,
    registers: [registry],
  });
  const ruleHits = new Counter({
    name: "txwatch_rule_hits_total",
    help: "Rules that fired on committed transactions.",
    labelNames: ["rule"] as const,
    registers: [registry],
  });
  const quarantined = new Counter({
    name: "txwatch_quarantined_records_total",
    help: "Stream records quarantined as malformed.",
    registers: [registry],
  });
  const alerts = new Counter({
    name: "txwatch_alerts_raised_total",
    help: "Alerts raised.",
    registers: [registry],
  });
  const alertPublishFailures = new Counter({
    name: "txwatch_alert_publish_failures_total",
    help: "Alerts stored but not delivered to a publisher (webhook, SNS).",
    registers: [registry],
  });
  const alertWebhookDropped = new Counter({
    name: "txwatch_alert_webhook_dropped_total",
    help: "Alerts never sent to the webhook: its queue was full (oldest dropped) or the process stopped first.",
    registers: [registry],
  });
  const alertWebhookQueued = new Gauge({
    name: "txwatch_alert_webhook_queued_alerts",
    help: "Alerts waiting in memory for delivery to the webhook.",
    registers: [registry],
  });
  const batchFailures = new Counter({
    name: "txwatch_batch_failures_total",
    help: "Batches handed back to the stream for redelivery.",
    registers: [registry],
  });
  const batchDuration = new Histogram({
    name: "txwatch_batch_duration_seconds",
    help: "Time to process one stream batch end to end.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const decisionLatency = new Histogram({
    name: "txwatch_ingest_to_decision_seconds",
    help: "From ingest acceptance to committed decision.",
    buckets: [0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const streamLag = new Gauge({
    name: "txwatch_stream_lag_records",
    help: "Records on the local stream not yet processed.",
    registers: [registry],
  });
  return {
    registry,
    ingested,
    decisions,
    ruleHits,
    quarantined,
    alerts,
    alertPublishFailures,
    alertWebhookDropped,
    alertWebhookQueued,
    batchFailures,
    batchDuration,
    decisionLatency,
    streamLag,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
