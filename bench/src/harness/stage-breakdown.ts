// Where an event's time goes in a measured window: the services' stage histograms (docs/OPERATIONS.md,
// "Metrics"), scraped from the api's and the realtime service's /metrics before and after the window, each
// stage's p50 and p99 estimated from the bucket deltas, beside the client-side split of each delivery at
// its envelope's ts (POST start -> emission -> receipt); and the table that shows them per cell and arm.
import type { PinnedProcess } from './pinned-process.js'
import { counterOf, histogramDelta, histogramOf, histogramQuantile, observations, scrapeMetrics, type Labels, type Sample } from './prometheus-histograms.js'

/** The invitations POST as the API labels its requests (the route pattern). */
const INVITATIONS_ROUTE = '/api/accounts/schools/:id/invitations'
/** EVENT_STAGE_METRIC of @school/observability, which the bench does not depend on. */
const STAGE_METRIC = 'school_event_stage_seconds'

type Service = 'api' | 'realtime'

interface Stage {
  /** Prefix of its metrics (`<key>P50Ms`, `<key>P99Ms`). */
  key: string
  label: string
  service: Service
  metric: string
  where: (labels: Labels) => boolean
  /** One of the consecutive stages of the path (write, enqueue, queue_wait, projection), not an envelope of several. */
  step: boolean
}

const stage = (name: string) => (labels: Labels) => labels.stage === name

/** In the order of the path. Before `write`: authentication and validation; after `projection`: delivery. */
export const SERVER_STAGES: readonly Stage[] = [
  { key: 'apiRequest', label: 'api request', service: 'api', metric: 'http_request_duration_seconds', where: (labels) => labels.method === 'POST' && labels.route === INVITATIONS_ROUTE, step: false },
  { key: 'write', label: 'write', service: 'api', metric: STAGE_METRIC, where: stage('write'), step: true },
  { key: 'enqueue', label: 'enqueue', service: 'api', metric: STAGE_METRIC, where: stage('enqueue'), step: true },
  { key: 'queueWait', label: 'queue_wait', service: 'realtime', metric: STAGE_METRIC, where: stage('queue_wait'), step: true },
  { key: 'projection', label: 'projection', service: 'realtime', metric: STAGE_METRIC, where: stage('projection'), step: true },
  { key: 'commitToEmit', label: 'commit -> emit (lag)', service: 'realtime', metric: 'school_event_lag_seconds', where: () => true, step: false },
]

/** The client-side split, recorded by the bench itself for every arm. */
export const CLIENT_SPLIT = [
  { key: 'postToEmission', label: 'POST start -> emission' },
  { key: 'emissionToReceipt', label: 'emission -> receipt' },
] as const

export interface StageFigures {
  /** Observations in the window. */
  count: number
  p50Ms: number
  p99Ms: number
  meanMs: number
}

export type ServiceScrape = Record<Service, Sample[]>

export async function scrapeServices(services: Record<Service, PinnedProcess>): Promise<ServiceScrape> {
  const [api, realtime] = await Promise.all([scrapeMetrics(`${services.api.url}/metrics`), scrapeMetrics(`${services.realtime.url}/metrics`)])
  return { api, realtime }
}

/** Each server stage over the window between two scrapes. */
export function stageFigures(before: ServiceScrape, after: ServiceScrape): Record<string, StageFigures> {
  const figures: Record<string, StageFigures> = {}
  for (const { key, service, metric, where } of SERVER_STAGES) {
    const delta = histogramDelta(histogramOf(before[service], metric, where), histogramOf(after[service], metric, where))
    const count = observations(delta)
    figures[key] = {
      count,
      p50Ms: histogramQuantile(0.5, delta) * 1000,
      p99Ms: histogramQuantile(0.99, delta) * 1000,
      meanMs: count > 0 ? (delta.sum / count) * 1000 : Number.NaN,
    }
  }
  return figures
}

/**
 * The realtime service's projection passes over the window by what they started from (`memory`: the row its
 * last pass left and the job's copy of the event, one statement; `log`: a read first), from
 * `projection_advances_total{source}` (docs/OPERATIONS.md).
 */
export function projectionPassSources(before: ServiceScrape, after: ServiceScrape): { memory: number; log: number } {
  const delta = (source: string) => {
    const of = (samples: Sample[]) => counterOf(samples, 'projection_advances_total', (labels) => labels.source === source)
    return of(after.realtime) - of(before.realtime)
  }
  return { memory: delta('memory'), log: delta('log') }
}

/** The figures as flat metrics (`<key>P50Ms`, `<key>P99Ms`), which the rounds' medians are taken of. */
export function stageMetrics(figures: Record<string, StageFigures>): Record<string, number> {
  return Object.fromEntries(Object.entries(figures).flatMap(([key, { p50Ms, p99Ms }]) => [[`${key}P50Ms`, p50Ms], [`${key}P99Ms`, p99Ms]]))
}

/** A figure of a table in ms, one decimal; '-' when there is none. */
export function ms(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(1)
}

export interface BreakdownRow {
  cell: string
  arm: string
  median: Record<string, number>
}

/** One row per cell and arm: end to end, the client-side split, then each server stage, as p50 / p99. */
export function breakdownTable(rows: readonly BreakdownRow[]): string {
  const columns = [{ key: '', label: 'POST start -> receipt' }, ...CLIENT_SPLIT, ...SERVER_STAGES]
  const pair = (median: Record<string, number>, key: string) => {
    const name = (quantile: string) => (key === '' ? `${quantile.toLowerCase()}Ms` : `${key}${quantile}Ms`)
    return `${ms(median[name('P50')])} / ${ms(median[name('P99')])}`
  }
  return [
    '**Where the time goes** (p50 / p99 ms, medians of the rounds; server stages from the services\' histograms over the window, client split at the envelope\'s ts)',
    '',
    `| cell | arm | ${columns.map((column) => column.label).join(' | ')} |`,
    `| --- | --- | ${columns.map(() => '---:').join(' | ')} |`,
    ...rows.map(({ cell, arm, median }) => `| ${cell} | ${arm} | ${columns.map((column) => pair(median, column.key)).join(' | ')} |`),
  ].join('\n')
}

/**
 * Of the consecutive steps of the path (the server stages, then emission -> receipt), the one with the
 * largest p99, and each step's p99: which stage holds the tail.
 */
export function tailStage(median: Record<string, number>): { label: string; p99Ms: number; steps: string } | undefined {
  const steps = [...SERVER_STAGES.filter((candidate) => candidate.step), CLIENT_SPLIT[1]].map(({ key, label }) => ({ label, p99Ms: median[`${key}P99Ms`] ?? Number.NaN }))
  const measured = steps.filter((step) => Number.isFinite(step.p99Ms))
  if (measured.length === 0) return undefined
  const largest = measured.reduce((top, step) => (step.p99Ms > top.p99Ms ? step : top))
  return { ...largest, steps: steps.map((step) => `${step.label} ${ms(step.p99Ms)}`).join(', ') }
}
