/**
 * Latencies in whole milliseconds (the instants are ms), counted per millisecond up to ten
 * minutes: percentiles are exact at that resolution and the memory is fixed (2.4 MB), so the
 * measurement does not grow the RSS of the monitor it measures, whatever the run's length.
 */
const MAX_MS = 600_000;

export class LatencyLog {
  private readonly buckets = new Uint32Array(MAX_MS + 1);
  private size = 0;

  add(ms: number): void {
    this.buckets[Math.min(MAX_MS, Math.max(0, Math.round(ms)))]!++;
    this.size++;
  }

  clear(): void {
    this.buckets.fill(0);
    this.size = 0;
  }

  get count(): number {
    return this.size;
  }

  /** Nearest-rank percentiles, e.g. percentiles([50, 99]) -> { 50: ..., 99: ... }. */
  percentiles(ranks: number[]): Record<number, number> {
    const out: Record<number, number> = {};
    for (const rank of ranks) {
      if (this.size === 0) {
        out[rank] = Number.NaN;
        continue;
      }
      const wanted = Math.max(1, Math.ceil((rank / 100) * this.size));
      let seen = 0;
      for (let ms = 0; ms <= MAX_MS; ms++) {
        seen += this.buckets[ms]!;
        if (seen >= wanted) {
          out[rank] = ms;
          break;
        }
      }
    }
    return out;
  }
}
