/** Latencies in ms, kept in a growing typed array: a million of them cost 8 MB, not 30. */
export class LatencyLog {
  private values = new Float64Array(1 << 16);
  private size = 0;

  add(ms: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = ms;
  }

  clear(): void {
    this.size = 0;
  }

  get count(): number {
    return this.size;
  }

  /** Nearest-rank percentiles, e.g. percentiles([50, 99]) -> { 50: ..., 99: ... }. */
  percentiles(ranks: number[]): Record<number, number> {
    const sorted = this.values.slice(0, this.size).sort();
    const out: Record<number, number> = {};
    for (const rank of ranks) {
      const index = Math.min(this.size - 1, Math.max(0, Math.ceil((rank / 100) * this.size) - 1));
      out[rank] = this.size === 0 ? Number.NaN : sorted[index]!;
    }
    return out;
  }
}
