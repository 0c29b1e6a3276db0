// Latencies of millions of deliveries without keeping each one: counts in 0.1 ms buckets (up to a minute),
// from which nearest-rank percentiles are read to that resolution; the maximum is kept exactly.

const RESOLUTION_MS = 0.1
const BUCKETS = 600_000

export class LatencyHistogram {
  private readonly buckets = new Uint32Array(BUCKETS + 1)
  count = 0
  max = Number.NEGATIVE_INFINITY

  record(ms: number): void {
    const bucket = Math.min(BUCKETS, Math.max(0, Math.ceil(ms / RESOLUTION_MS)))
    this.buckets[bucket]!++
    this.count++
    if (ms > this.max) this.max = ms
  }

  /** Nearest-rank percentile (as `statistics.percentile`), rounded up to the bucket; NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN
    const rank = Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))
    let seen = 0
    for (let bucket = 0; bucket <= BUCKETS; bucket++) {
      seen += this.buckets[bucket]!
      if (seen > rank) return bucket === BUCKETS ? this.max : Math.min(this.max, bucket * RESOLUTION_MS)
    }
    return this.max
  }
}
