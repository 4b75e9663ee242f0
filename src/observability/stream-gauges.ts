import { Gauge, type Registry } from "prom-client";
import type { PartitionProgress } from "../stream/progress.ts";

const LAG = "txwatch_stream_lag_records";
const OLDEST_AGE = "txwatch_stream_oldest_age_seconds";

/**
 * txwatch_stream_lag_records{partition} and txwatch_stream_oldest_age_seconds{partition}
 * (REL-5), read from the stream at each scrape, so they are never stale and a partition that
 * is gone (a closed shard) drops out. Kinesis cannot count the records behind, so its shards
 * have an age and no lag. Registering again (a pipeline started anew on the same registry)
 * replaces the earlier gauges.
 */
export function registerStreamGauges(
  registry: Registry,
  progress: () => PartitionProgress[],
): void {
  registry.removeSingleMetric(LAG);
  registry.removeSingleMetric(OLDEST_AGE);
  new Gauge({
    name: LAG,
    help: "Records appended to the stream partition and not yet handled by the processor.",
    labelNames: ["partition"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of progress()) {
        if (p.records !== undefined) this.set({ partition: p.partition }, p.records);
      }
    },
  });
  new Gauge({
    name: OLDEST_AGE,
    help: "Age of the oldest record of the stream partition not yet handled by the processor (0: none waits).",
    labelNames: ["partition"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of progress()) this.set({ partition: p.partition }, p.oldestAgeSeconds);
    },
  });
}
