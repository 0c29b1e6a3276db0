// Consumes the school-events queue. A job says "school S has news up to seq N": the worker advances
// the school's dashboard projection over every event of the log it has not applied yet (idempotent, in
// order, batched under bursts, many schools per pass), broadcasts each applied event's messages, and
// coalesces metrics_update. A job that carries its event, for a school whose row this instance remembers
// just before it, is applied with the compare-and-set alone; any other reads the row and the log first.
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq'
import type { Logger } from 'pino'
import type { RealtimeConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import {
  advanceProjections,
  eventMessages,
  eventRowOfJob,
  metricsMessage,
  schoolsBehindRecentEvents,
  type EventRowWithActor,
  type KnownWindow,
  type ProjectionAdvance,
} from '@school/dashboard'
import { queuePrefix, revokesDashboardAccess, SCHOOL_EVENTS_QUEUE, type SchoolEventJob } from '@school/events'
import type { Broadcaster } from '../broadcaster.js'
import { createMetricsCoalescer, type MetricsCoalescer } from '../projections/metrics-coalescer.js'
import type { RealtimeMetrics } from '../operations/realtime-metrics.js'
import { createProjectionMemory } from './projection-memory.js'
import { createProjectionPasses, type PassSummary } from './projection-passes.js'

/** Schools advanced by one pass at most: bounds the size of its two statements. */
const MAX_SCHOOLS_PER_PASS = 64

/**
 * Schools whose projection row this instance remembers (the most recently advanced): a few hundred bytes
 * each, so the bound costs a few megabytes; past it, a school's next pass reads its row again.
 */
const MAX_REMEMBERED_SCHOOLS = 10_000

export interface SchoolEventsWorkerDeps {
  config: Pick<RealtimeConfig, 'REDIS_PREFIX' | 'WORKER_CONCURRENCY' | 'METRICS_COALESCE_MS' | 'CATCH_UP_INTERVAL_MS'>
  prisma: PrismaClient
  broadcaster: Broadcaster
  /** A dedicated connection (or its options) with `maxRetriesPerRequest: null`: the worker blocks on it. */
  connection: ConnectionOptions
  logger: Logger
  metrics?: Pick<
    RealtimeMetrics,
    'eventsApplied' | 'deadLettered' | 'eventLag' | 'eventStage' | 'projectionAdvances' | 'jobsFailed' | 'jobsRetried' | 'observe'
  >
  /** An applied event ended a user's owner/admin access to the school (member removed or demoted): close their dashboards. */
  onAccessLost?(schoolId: number, userId: number): void
}

export interface ProcessedEvent {
  schoolId: number
  seq: number
  /** Events this job applied to the projection: 0 when an earlier job had already applied it. */
  applied: number
}

/** The event of a job is not visible in the log yet (or its transaction rolled back): retry later. */
export class EventNotInLogError extends Error {
  constructor(job: SchoolEventJob, lastSeq: number) {
    super(`event ${job.eventId} (seq ${job.seq}) of school ${job.schoolId} is not in the log; projection at ${lastSeq}`)
    this.name = 'EventNotInLogError'
  }
}

export interface SchoolEventsProcessor {
  /**
   * Brings one school's projection up to the log and broadcasts what that applied; with `seq`, answers at
   * once when this instance has already seen that event applied, and with `carried` (that event, as its
   * job carries it), may apply it without reading the log. Null when the school does not exist.
   */
  advance(schoolId: number, seq?: number, carried?: EventRowWithActor): Promise<PassSummary | null>
  /**
   * The seq this instance has seen the school's projection reach (0 if never): the projection only moves
   * forward, so a job for an event at or below it has been applied, whoever applied it.
   */
  appliedThrough(schoolId: number): number
  /** Brings every school whose projection lags its log up to date (on start-up, after a crash): reads every school. */
  catchUpAll(): Promise<number>
  /**
   * Brings up to date the schools with an event enqueued since the previous call, at least `graceMs` ago,
   * that their projection lacks (its job was lost): reads only the recent events, through an index.
   */
  catchUpRecent(graceMs: number): Promise<number>
  readonly metrics: MetricsCoalescer
}

export function createSchoolEventsProcessor(deps: Omit<SchoolEventsWorkerDeps, 'connection'>): SchoolEventsProcessor {
  const { prisma, broadcaster, logger } = deps
  const instruments = deps.metrics
  const metrics = createMetricsCoalescer(deps.config.METRICS_COALESCE_MS, (schoolId, state) =>
    broadcaster.publish(schoolId, [metricsMessage(state)]),
  )

  const broadcast = (schoolId: number, result: ProjectionAdvance) => {
    const now = Date.now()
    for (const event of result.applied) {
      broadcaster.publish(schoolId, eventMessages(event))
      const lagMs = now - event.occurredAt.getTime()
      instruments?.eventLag.observe(lagMs / 1000)
      // One line per event, carrying the id of the request that caused it: logs follow it end to end.
      logger.info({ eventId: event.id, correlationId: event.correlationId ?? undefined, schoolId, seq: event.seq, type: event.type, lagMs }, 'event emitted')
      const lostAccess = revokesDashboardAccess(event)
      if (lostAccess !== null) deps.onAccessLost?.(schoolId, lostAccess)
    }
    instruments?.eventsApplied.inc(result.applied.length)
    for (const dead of result.deadLettered) {
      instruments?.deadLettered.inc()
      logger.error({ schoolId, ...dead }, 'event skipped: it cannot be applied; kept in dead_letter_events')
    }
    if (result.applied.length > 0 || result.deadLettered.length > 0) metrics.update(schoolId, result)
  }

  const memory = createProjectionMemory(MAX_REMEMBERED_SCHOOLS)
  const fromMemory = instruments?.projectionAdvances.labels({ source: 'memory' })
  const fromLog = instruments?.projectionAdvances.labels({ source: 'log' })
  const passes = createProjectionPasses<EventRowWithActor>({
    maxSchoolsPerPass: MAX_SCHOOLS_PER_PASS,
    async run(schools) {
      const known = new Map<number, KnownWindow>()
      for (const [schoolId, carried] of schools) {
        const window = memory.knownWindow(schoolId, carried)
        if (window) known.set(schoolId, window)
      }
      const results = await advanceProjections(prisma, [...schools.keys()], { known })
      for (const schoolId of schools.keys()) if (!results.has(schoolId)) memory.forget(schoolId)
      for (const [schoolId, result] of results) {
        memory.remember(schoolId, result)
        const source = result.read ? fromLog : fromMemory
        source?.inc()
        broadcast(schoolId, result)
      }
      return results
    },
  })

  /** Repeats passes while they move the school short of `seq` (or, without one, at all): a pass applies a bounded batch. */
  const advance = async (schoolId: number, seq?: number, carried?: EventRowWithActor): Promise<PassSummary | null> => {
    let summary = await passes.request(schoolId, seq, carried)
    for (;;) {
      if (!summary || (seq !== undefined && summary.lastSeq >= seq)) return summary
      const next = await passes.request(schoolId, seq)
      if (!next) return null
      const moved = next.lastSeq > summary.lastSeq
      summary = { lastSeq: next.lastSeq, applied: summary.applied + next.applied, deadLettered: summary.deadLettered + next.deadLettered }
      if (!moved) return summary
    }
  }

  /** Where the next catchUpRecent() starts reading. */
  let recentSince: Date | null = null

  return {
    advance,
    appliedThrough: passes.appliedThrough,
    metrics,
    async catchUpRecent(graceMs) {
      const { nextSince, schoolIds } = await schoolsBehindRecentEvents(prisma, recentSince, graceMs)
      await Promise.all(schoolIds.map((schoolId) => advance(schoolId)))
      // Only once they are caught up: a pass that failed is read again by the next one.
      recentSince = nextSince
      return schoolIds.length
    },
    async catchUpAll() {
      const lagging = await prisma.$queryRaw<Array<{ id: number }>>`
        SELECT s.id FROM schools s LEFT JOIN school_dashboard_projections p ON p.school_id = s.id
        WHERE s.last_event_seq > COALESCE(p.last_seq, 0) ORDER BY s.id`
      // All at once: the schools share passes, up to MAX_SCHOOLS_PER_PASS each.
      await Promise.all(lagging.map(({ id }) => advance(id)))
      return lagging.length
    },
  }
}

export interface SchoolEventsWorker {
  worker: Worker<SchoolEventJob, ProcessedEvent>
  processor: SchoolEventsProcessor
  /** Waits for the jobs in hand, takes no more, and sends the coalesced metrics still pending. */
  close(): Promise<void>
}

export function startSchoolEventsWorker(deps: SchoolEventsWorkerDeps): SchoolEventsWorker {
  const { logger } = deps
  const processor = createSchoolEventsProcessor(deps)

  // One child per stage: observe() on a child skips hashing the labels.
  const queueWait = deps.metrics?.eventStage.labels({ stage: 'queue_wait' })
  const projection = deps.metrics?.eventStage.labels({ stage: 'projection' })

  const process = async (job: Job<SchoolEventJob, ProcessedEvent>): Promise<ProcessedEvent> => {
    const { schoolId, seq } = job.data
    const takenAt = Date.now()
    // job.timestamp is when the producer added it (its clock; one machine's in the tests and the bench).
    if (job.attemptsMade === 0) queueWait?.observe(Math.max(0, takenAt - job.timestamp) / 1000)
    // A burst: the job of its first event applied the whole batch, so the others have nothing to do and
    // need not ask the database (one school's burst of 500 costs one projection pass, not 500).
    // Jobs of many schools arriving together share one pass.
    const result = await processor.advance(schoolId, seq, eventRowOfJob(job.data) ?? undefined)
    projection?.observe((Date.now() - takenAt) / 1000)
    // The school is gone (cascade-deleted with its log): nothing to show anyone.
    if (!result) return { schoolId, seq, applied: 0 }
    if (result.lastSeq < seq) throw new EventNotInLogError(job.data, result.lastSeq)
    logger.debug({ eventId: job.data.eventId, schoolId, seq, applied: result.applied, lagMs: Date.now() - Date.parse(job.data.occurredAt) }, 'school event processed')
    return { schoolId, seq, applied: result.applied }
  }

  const worker = new Worker<SchoolEventJob, ProcessedEvent>(SCHOOL_EVENTS_QUEUE, process, {
    connection: deps.connection,
    prefix: queuePrefix(deps.config.REDIS_PREFIX),
    concurrency: deps.config.WORKER_CONCURRENCY,
  })
  worker.on('failed', (job, error) => {
    deps.metrics?.jobsFailed.inc()
    const willRetry = job !== undefined && job.attemptsMade < (job.opts.attempts ?? 1)
    if (willRetry) deps.metrics?.jobsRetried.inc()
    logger.warn({ err: error, eventId: job?.data.eventId, attemptsMade: job?.attemptsMade, willRetry }, 'school event job failed')
  })
  worker.on('error', (error) => logger.error({ err: error }, 'school events worker error'))
  // A handle on the queue for its counters only; it shares no connection with the blocking worker.
  const queue = new Queue<SchoolEventJob>(SCHOOL_EVENTS_QUEUE, { connection: deps.connection, prefix: queuePrefix(deps.config.REDIS_PREFIX) })
  queue.on('error', (error) => logger.warn({ err: error }, 'school events queue connection error'))
  deps.metrics?.observe({
    queueCounts: () => queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed'),
  })
  // Jobs can be lost while their events are safe in the log (Redis restarted empty after accepting them):
  // a periodic pass applies what the projections lack of the events enqueued since the previous pass at
  // least one interval ago, so a quiet school does not stay stale. It reads recent events only.
  let catchingUp: Promise<unknown> = Promise.resolve()
  const catchUpTimer = setInterval(() => {
    catchingUp = catchingUp
      .then(() => processor.catchUpRecent(deps.config.CATCH_UP_INTERVAL_MS))
      .then((schools) => {
        if (schools > 0) logger.info({ schools }, 'projections caught up with the event log')
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'projection catch-up failed'))
  }, deps.config.CATCH_UP_INTERVAL_MS)
  catchUpTimer.unref()

  return {
    worker,
    processor,
    async close() {
      clearInterval(catchUpTimer)
      await catchingUp
      await worker.close()
      await queue.close()
      processor.metrics.flush()
    },
  }
}
