import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The monitor's Prometheus metrics (OPS-1); one registry per runtime so tests stay isolated. */
export function createMetrics() {
  const registry = new Registry();
  // Node's process metrics unprefixed, under prom-client's own names (process_cpu_seconds_total,
  // nodejs_eventloop_lag_seconds, ...): those are the names standard Node.js dashboards and
  // alerts query (OPS-4).
  collectDefaultMetrics({ register: registry });
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
    help: "Stream records quarantined, by kind: malformed (not a valid envelope) or refused (the ledger or history refused it for good).",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const alerts = new Counter({
    name: "txwatch_alerts_raised_total",
    help: "Alerts raised.",
    registers: [registry],
  });
  const alertPublishFailures = new Counter({
    name: "txwatch_alert_publish_failures_total",
    help: "Alerts committed but not handed to this process's live streams (server-sent events); the webhook and SNS deliver from the ledger (see txwatch_alert_delivery_*).",
    registers: [registry],
  });
  // The alert outbox (REL-6), per channel (webhook, sns).
  const alertsDelivered = new Counter({
    name: "txwatch_alert_delivery_delivered_total",
    help: "Alerts a channel's receiver took, by channel (at least once: a redelivery counts again).",
    labelNames: ["channel"] as const,
    registers: [registry],
  });
  const alertDeadLetters = new Counter({
    name: "txwatch_alert_delivery_dead_letters_total",
    help: "Alerts a channel gave up on (refused for good, or past their max age or attempts), recorded in alert_dead_letters, by channel.",
    labelNames: ["channel"] as const,
    registers: [registry],
  });
  const alertDeliveryFailures = new Counter({
    name: "txwatch_alert_delivery_failed_requests_total",
    help: "Requests to a channel's receiver that failed and will be retried (down, timeout, 5xx, 408, 429), by channel.",
    labelNames: ["channel"] as const,
    registers: [registry],
  });
  const alertsUndelivered = new Gauge({
    name: "txwatch_alert_delivery_undelivered_alerts",
    help: "Alerts committed and not yet delivered on a channel, reported by the process delivering it (0 in the others: sum over processes).",
    labelNames: ["channel"] as const,
    registers: [registry],
  });
  const historyRebuilds = new Counter({
    name: "txwatch_history_rebuilds_total",
    help: "Times this process found the Redis history empty (no generation marker: Redis restarted without its data) and rebuilt the last 24 h from the ledger (REL-6).",
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
  // OPS-4: by route pattern ("/v1/transactions/:transactionId"; "unmatched" for any path no
  // route serves), never by path, so the label sets stay as few as the routes and statuses.
  const httpRequests = new Counter({
    name: "txwatch_http_requests_total",
    help: 'HTTP requests answered, by method, route pattern ("unmatched": no route) and status.',
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpRequestDuration = new Histogram({
    name: "txwatch_http_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by method, route pattern and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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
    alertsDelivered,
    alertDeadLetters,
    alertDeliveryFailures,
    alertsUndelivered,
    historyRebuilds,
    batchFailures,
    batchDuration,
    decisionLatency,
    httpRequests,
    httpRequestDuration,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
