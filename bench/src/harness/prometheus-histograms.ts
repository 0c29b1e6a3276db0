// Prometheus histograms read from a service's /metrics (the text exposition format), the change between two
// scrapes, and quantiles estimated from bucket counts as Prometheus' histogram_quantile() does: linear
// interpolation within the bucket the rank falls in. A short parser instead of a dependency: the npm ones
// are unmaintained, and only samples are needed (no HELP/TYPE, exemplars or timestamps).

export type Labels = Record<string, string>

export interface Sample {
  name: string
  labels: Labels
  value: number
}

/** Cumulative bucket counts of one histogram, summed over the series that matched. */
export interface HistogramCounts {
  /** Upper bounds, ascending; the last is +Inf. */
  bounds: number[]
  /** Observations at or below each bound (cumulative, as exposed). */
  cumulative: number[]
  sum: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

function number(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  return Number(text)
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (!match) continue
    const labels: Labels = {}
    for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) {
      labels[key!] = raw!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped))
    }
    samples.push({ name: match[1]!, labels, value: number(match[3]!) })
  }
  return samples
}

/** GETs a /metrics endpoint and parses it. */
export async function scrapeMetrics(url: string): Promise<Sample[]> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url} answered ${response.status}`)
  return parseExposition(await response.text())
}

/** The counter `name` (as exposed, `_total` included), its series whose labels pass `where` summed. */
export function counterOf(samples: readonly Sample[], name: string, where: (labels: Labels) => boolean = () => true): number {
  let total = 0
  for (const sample of samples) if (sample.name === name && where(sample.labels)) total += sample.value
  return total
}

/** The histogram `name`, its series whose labels pass `where` summed bucket by bucket. */
export function histogramOf(samples: readonly Sample[], name: string, where: (labels: Labels) => boolean = () => true): HistogramCounts {
  const byBound = new Map<number, number>()
  let sum = 0
  for (const sample of samples) {
    if (sample.name === `${name}_bucket` && where(sample.labels)) {
      const bound = number(sample.labels.le ?? 'NaN')
      byBound.set(bound, (byBound.get(bound) ?? 0) + sample.value)
    } else if (sample.name === `${name}_sum` && where(sample.labels)) {
      sum += sample.value
    }
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b)
  return { bounds, cumulative: bounds.map((bound) => byBound.get(bound)!), sum }
}

/** What was observed between two scrapes (`after` - `before`, bucket by bucket). */
export function histogramDelta(before: HistogramCounts, after: HistogramCounts): HistogramCounts {
  const earlier = new Map(before.bounds.map((bound, i) => [bound, before.cumulative[i]!]))
  return {
    bounds: after.bounds,
    cumulative: after.bounds.map((bound, i) => after.cumulative[i]! - (earlier.get(bound) ?? 0)),
    sum: after.sum - before.sum,
  }
}

export function observations(histogram: HistogramCounts): number {
  return histogram.cumulative.at(-1) ?? 0
}

/**
 * The q-quantile (0..1) as Prometheus' histogram_quantile() estimates it: NaN without observations; the
 * highest finite bound when the rank falls in the +Inf bucket; otherwise linear within the bucket, from 0
 * for the first one.
 */
export function histogramQuantile(q: number, histogram: HistogramCounts): number {
  const { bounds, cumulative } = histogram
  const total = observations(histogram)
  if (bounds.length < 2 || bounds.at(-1) !== Number.POSITIVE_INFINITY || !(total > 0)) return Number.NaN
  const rank = q * total
  let bucket = cumulative.findIndex((count, i) => i < bounds.length - 1 && count >= rank)
  if (bucket === -1) bucket = bounds.length - 1
  if (bucket === bounds.length - 1) return bounds[bounds.length - 2]!
  const upper = bounds[bucket]!
  if (bucket === 0 && upper <= 0) return upper
  const lower = bucket === 0 ? 0 : bounds[bucket - 1]!
  const below = bucket === 0 ? 0 : cumulative[bucket - 1]!
  return lower + (upper - lower) * ((rank - below) / (cumulative[bucket]! - below))
}
