import type { Logger } from "../observability/logger.ts";

interface Run {
  since: number;
  failures: number;
}

/**
 * Logs each run of failed batches of one partition twice, not once per batch (REL-5): an error
 * line at its first failure, and an info line when a batch of that partition succeeds again,
 * with how many redeliveries failed in between. During an outage every partition fails a
 * batch per backoff step; a line each would bury everything else in the log.
 */
class FailureRuns {
  private readonly runs = new Map<string, Run>();

  constructor(private readonly now: () => number = Date.now) {}

  failed(log: Logger, partition: string, error: unknown, records: number): void {
    const run = this.runs.get(partition);
    if (run !== undefined) {
      run.failures++;
      log.debug({ partition, records, failures: run.failures }, "batch failed again");
      return;
    }
    this.runs.set(partition, { since: this.now(), failures: 1 });
    log.error({ err: error, partition, records }, "batch failed; handing back for redelivery");
  }

  succeeded(log: Logger, partition: string): void {
    const run = this.runs.get(partition);
    if (run === undefined) return;
    this.runs.delete(partition);
    const failedForMs = this.now() - run.since;
    log.info(
      { partition, retries: run.failures, failedForMs },
      `batches succeed again after ${run.failures} failed ${run.failures === 1 ? "try" : "tries"} in ${(failedForMs / 1000).toFixed(1)} s`,
    );
  }
}

/**
 * One FailureRuns per logger: a runtime (or a Lambda environment) keeps one logger for its life,
 * while the processor's dependencies may be rebuilt around it per call.
 */
const byLogger = new WeakMap<Logger, FailureRuns>();

export function failureRunsOf(log: Logger): FailureRuns {
  let runs = byLogger.get(log);
  if (runs === undefined) {
    runs = new FailureRuns();
    byLogger.set(log, runs);
  }
  return runs;
}
