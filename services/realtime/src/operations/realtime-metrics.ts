// The realtime service's Prometheus instruments: connections by transport, schools with watchers, messages
// broadcast and delivered by type, dropped clients, and the event pipeline (applied events, lag from commit
// to emit, job failures and retries, dead letters, queue depth). Collected into one registry per process.
import { Counter, Gauge, Histogram } from 'prom-client'
import type { DashboardTransport } from '@school/events'
import { createEventStageHistogram, createServiceRegistry, type DependencyChecks, type ServiceRegistry } from '@school/observability'

export interface RealtimeMetrics extends ServiceRegistry {
  dependencies: DependencyChecks
  broadcasts: Counter<'type'>
  delivered: Counter<'type' | 'transport'>
  dropped: Counter<'reason' | 'transport'>
  eventsApplied: Counter
  deadLettered: Counter
  eventLag: Histogram
  /** Time an event's job spent in each stage on this instance (`queue_wait`, `projection`). */
  eventStage: Histogram<'stage'>
  /** Schools advanced by a projection pass, by what the pass started from (`memory` or `log`). */
  projectionAdvances: Counter<'source'>
  jobsFailed: Counter
  jobsRetried: Counter
  accessRevoked: Counter<'trigger'>
  sessionRevoked: Counter<'trigger'>
  renewals: Counter<'outcome'>
  presenceClaims: Counter
  /** Adds sources of the gauges read at scrape time (connections from the gateways, queue from the worker). */
  observe(gauges: Partial<RealtimeGauges>): void
}

export interface RealtimeGauges {
  /** Open dashboard connections per transport on this instance. */
  connections(): Record<DashboardTransport, number>
  /** Schools with at least one connection on this instance. */
  schools(): number
  /** Jobs of the school-events queue by state. */
  queueCounts(): Promise<Record<string, number>>
}

const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export function createRealtimeMetrics(dependencies: DependencyChecks): RealtimeMetrics {
  const service = createServiceRegistry('realtime', dependencies)
  const registers = [service.registry]
  const gauges: Partial<RealtimeGauges> = {}

  new Gauge({
    name: 'dashboard_connections',
    help: 'Open dashboard connections on this instance, by transport.',
    labelNames: ['transport'],
    registers,
    collect() {
      for (const [transport, count] of Object.entries(gauges.connections?.() ?? {})) this.set({ transport }, count)
    },
  })
  new Gauge({
    name: 'dashboard_schools_watched',
    help: 'Schools with at least one dashboard connection on this instance.',
    registers,
    collect() {
      this.set(gauges.schools?.() ?? 0)
    },
  })
  new Gauge({
    name: 'school_events_queue_jobs',
    help: 'Jobs of the school-events queue by state (shared by every instance).',
    labelNames: ['state'],
    registers,
    async collect() {
      const counts: Record<string, number> = gauges.queueCounts ? await gauges.queueCounts().catch(() => ({})) : {}
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
    },
  })

  return {
    ...service,
    dependencies,
    observe(next) {
      Object.assign(gauges, next)
    },
    broadcasts: new Counter({
      name: 'dashboard_broadcasts_total',
      help: 'Messages emitted to school rooms by this instance, by message type (each reaches every watcher).',
      labelNames: ['type'],
      registers,
    }),
    delivered: new Counter({
      name: 'dashboard_messages_delivered_total',
      help: 'Messages sent to dashboard connections on this instance, by message type and transport.',
      labelNames: ['type', 'transport'],
      registers,
    }),
    dropped: new Counter({
      name: 'dashboard_connections_dropped_total',
      help: 'Connections the server dropped, by reason (slow_consumer, sync_failed) and transport.',
      labelNames: ['reason', 'transport'],
      registers,
    }),
    eventsApplied: new Counter({
      name: 'school_events_applied_total',
      help: 'Domain events applied to the dashboard projection and broadcast by this instance.',
      registers,
    }),
    deadLettered: new Counter({
      name: 'school_events_dead_lettered_total',
      help: 'Domain events the projection could not apply, skipped and kept in dead_letter_events.',
      registers,
    }),
    eventLag: new Histogram({
      name: 'school_event_lag_seconds',
      help: 'Time from an event being committed to its messages being emitted.',
      buckets: LAG_BUCKETS,
      registers,
    }),
    projectionAdvances: new Counter({
      name: 'projection_advances_total',
      help: "Schools advanced by this instance's projection passes, by source: memory (the row the instance remembered and the events its jobs carried: one statement) or log (the row and the log read first).",
      labelNames: ['source'],
      registers,
    }),
    eventStage: createEventStageHistogram(
      service.registry,
      'Time a school event spent in each stage: on the realtime service queue_wait (added until a worker took its job) and projection (taken until the pass that applied it had emitted its messages).',
    ),
    jobsFailed: new Counter({
      name: 'school_event_jobs_failed_total',
      help: 'School-event job attempts that failed (each retried with backoff until attempts run out).',
      registers,
    }),
    jobsRetried: new Counter({
      name: 'school_event_jobs_retried_total',
      help: 'Failed school-event job attempts that BullMQ will retry.',
      registers,
    }),
    accessRevoked: new Counter({
      name: 'dashboard_access_revoked_total',
      help: 'Connections closed because their user lost owner/admin access, by trigger (event: an access change applied; recheck: the periodic safety net).',
      labelNames: ['trigger'],
      registers,
    }),
    sessionRevoked: new Counter({
      name: 'dashboard_session_revoked_total',
      help: 'Connections closed because the session of their token ended (sign-out, password change, a reused refresh token), by trigger (event: a revocation notice; recheck: the periodic safety net).',
      labelNames: ['trigger'],
      registers,
    }),
    renewals: new Counter({
      name: 'dashboard_token_renewals_total',
      help: 'In-band token renewals (refresh messages) by outcome: renewed, invalid_token, expired_token, token_mismatch, revoked_access, revoked_session.',
      labelNames: ['outcome'],
      registers,
    }),
    presenceClaims: new Counter({
      name: 'presence_instances_claimed_total',
      help: 'Lapsed instances whose presence entries this instance removed (and whose schools it told).',
      registers,
    }),
  }
}
