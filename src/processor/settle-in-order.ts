export interface SettleSteps<T> {
  /** Commits the units together, all or nothing. */
  commit(units: readonly T[]): Promise<void>;
  /** Stores the one unit the commit refuses for good, with why, in place of committing it. */
  quarantine(unit: T, reason: string): Promise<void>;
  /** Why an error is the data's own (see refusalOf); undefined: a dependency's, redeliver. */
  refusal(error: unknown): string | undefined;
  /** Extra attempts of a batch, and of the one unit left, refused before it is split or quarantined. */
  retries: number;
  /** Pause before the nth retry: n times this, in ms. */
  retryPauseMs: number;
}

/** Where settling stopped: units from `failedAt` on are not committed and must be redelivered. */
export interface Unsettled {
  failedAt: number;
  error: unknown;
}

/**
 * Commits `units` in their order, getting past those refused for good (REL-5). A refused commit
 * is retried `retries` times (a refusal can be a race another writer wins), then split: the
 * first half is settled, then the second, down to the one unit refused, which is quarantined.
 * Halves in order keep the stream's order, so no record is committed before one that preceded
 * it. A failure that is not a refusal (an outage) stops everything at once: the answer is
 * the first unit not committed, from which the stream redelivers; nothing is quarantined for it.
 * Each commit and quarantine must be idempotent, as redelivery repeats what went before.
 */
export async function settleInOrder<T>(
  units: readonly T[],
  steps: SettleSteps<T>,
): Promise<Unsettled | undefined> {
  return settle(units, 0, true, steps);
}

async function settle<T>(
  units: readonly T[],
  offset: number,
  retry: boolean,
  steps: SettleSteps<T>,
): Promise<Unsettled | undefined> {
  const attempts = retry || units.length === 1 ? steps.retries + 1 : 1;
  let reason: string | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      await steps.commit(units);
      return undefined;
    } catch (error) {
      reason = steps.refusal(error);
      if (reason === undefined) return { failedAt: offset, error };
      if (attempt >= attempts) break;
    }
    await new Promise((resolve) => setTimeout(resolve, attempt * steps.retryPauseMs));
  }
  if (units.length === 1) {
    try {
      await steps.quarantine(units[0]!, reason);
      return undefined;
    } catch (error) {
      return { failedAt: offset, error };
    }
  }
  // Halves get one attempt: the retries went to the whole, and the one unit left gets its own.
  const middle = Math.ceil(units.length / 2);
  return (
    (await settle(units.slice(0, middle), offset, false, steps)) ??
    (await settle(units.slice(middle), offset + middle, false, steps))
  );
}
