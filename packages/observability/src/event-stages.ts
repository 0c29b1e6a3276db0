// How long a school event spends in each stage of its way to the dashboards, one histogram per service
// (the api: write, enqueue; the realtime service: queue_wait, projection), so that one dashboard panel or
// one benchmark can say where a millisecond goes. docs/OPERATIONS.md names the stages.
import { Histogram, type Registry } from 'prom-client'

/** Fine at the low end, where a stage of a healthy pipeline lives, so that a p99 read from them means something. */
export const STAGE_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5]

export const EVENT_STAGE_METRIC = 'school_event_stage_seconds'

export function createEventStageHistogram(registry: Registry, help: string): Histogram<'stage'> {
  return new Histogram({ name: EVENT_STAGE_METRIC, help, labelNames: ['stage'], buckets: STAGE_BUCKETS, registers: [registry] })
}
