/**
 * The CloudWatch metrics the stream processor publishes (Powertools EMF) and the names infra's
 * alarms read them by (infra/components/monitoring.ts). One spelling for both sides: an alarm on a
 * name nobody publishes never fires, and nothing else would say so. Dependency-free, since infra
 * imports it.
 */

/** The namespace of the processor's metrics. */
export const PROCESSOR_METRICS_NAMESPACE = "txwatch";
/** The `service` dimension of the processor's metrics (Powertools' serviceName). */
export const PROCESSOR_SERVICE = "txwatch-processor";

/** Records of a batch committed or quarantined, per invocation. */
export const RECORDS_PROCESSED_METRIC = "RecordsProcessed";
/** Records handed back for redelivery, per invocation. */
export const RECORDS_FAILED_METRIC = "RecordsFailed";
/** Records set aside in quarantine (REL-5), per invocation; alarmed on any. */
export const RECORDS_QUARANTINED_METRIC = "RecordsQuarantined";
/** Redis history losses rebuilt from the ledger (REL-6), one data point each; alarmed on any. */
export const HISTORY_REBUILDS_METRIC = "HistoryRebuilds";
