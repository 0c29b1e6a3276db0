// Puts committed events on the school-events queue and marks them enqueued. A failure here never undoes
// the request: the row keeps enqueued_at NULL and the outbox relay enqueues it later (same job id, so a
// late duplicate is a no-op). The request waits for the queue, not for the mark: the mark only keeps the
// relay from enqueueing the event again, which would be harmless, so it is written after the answer (the
// marks of up to 100 ms in one statement, enqueue-marks.ts).
import type { Queue } from 'bullmq'
import { schoolEventJob, type PrismaClient } from '@school/db'
import type { SchoolEventJob } from '@school/events'
import type { Counter, Histogram } from 'prom-client'
import type { DomainLog } from './call-context.js'
import { createEnqueueMarks } from './enqueue-marks.js'
import type { AppendedEvent } from './school-log.js'

export interface EventPublisher {
  publish(events: readonly AppendedEvent[], log: DomainLog): Promise<void>
  /**
   * Sends the marks still waiting for their batch and resolves once those of the events published so far
   * have been written or have failed (shutdown, tests).
   */
  settled(): Promise<void>
}

/** The API's instruments the publisher records into (plugins/metrics.ts makes them). */
export interface PublisherMetrics {
  eventsEnqueued: Counter<'by'>
  enqueueFailures: Counter
  eventStage: Histogram<'stage'>
}

export interface EventPublisherDeps {
  queue: Queue<SchoolEventJob>
  prisma: PrismaClient
  /** Longest a request waits for Redis; a Queue that never connected waits forever otherwise. */
  timeoutMs: number
  metrics: PublisherMetrics
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export function createEventPublisher({ queue, prisma, timeoutMs, metrics }: EventPublisherDeps): EventPublisher {
  const marks = createEnqueueMarks(prisma)
  const pendingMarks = new Set<Promise<void>>()
  // One child per stage: observe() on a child skips hashing the labels.
  const write = metrics.eventStage.labels({ stage: 'write' })
  const enqueue = metrics.eventStage.labels({ stage: 'enqueue' })
  return {
    async settled() {
      marks.sendNow()
      await Promise.all(pendingMarks)
    },
    async publish(events, log) {
      // Called once the change has committed; each event's occurredAt is when the change began (the
      // request's clock for an invitation, the transaction's start otherwise).
      const committedAt = Date.now()
      for (const event of events) write.observe(Math.max(0, committedAt - event.occurredAt.getTime()) / 1000)
      // The events share the request's log line (reqId); the realtime service logs each one it emits with
      // that id as correlationId. A line per event here is for debugging: at info it cost a write per request.
      const byRequest = metrics.eventsEnqueued.labels({ by: 'request' })
      for (const [index, event] of events.entries()) {
        try {
          const added = Date.now()
          const job = schoolEventJob(event)
          await withTimeout(queue.add(job.name, job.data, job.opts), timeoutMs)
          enqueue.observe((Date.now() - added) / 1000)
        } catch (error) {
          metrics.enqueueFailures.inc(events.length - index)
          log.warn({ eventId: event.id, err: error, seq: event.seq }, 'event committed but not enqueued; the outbox relay will enqueue it')
          // Redis is unreachable: the rest would only wait as long again.
          for (const skipped of events.slice(index + 1)) {
            log.warn({ eventId: skipped.id, seq: skipped.seq }, 'event committed but not enqueued; the outbox relay will enqueue it')
          }
          return
        }
        byRequest.inc()
        log.debug({ eventId: event.id, schoolId: event.schoolId, seq: event.seq, type: event.type }, 'event enqueued')
        const marked = marks.mark(event.id).catch((error: unknown) => {
          // The job is queued; the relay may enqueue it again, which its job id makes harmless.
          log.warn({ eventId: event.id, err: error }, 'event enqueued but enqueued_at not recorded')
        })
        pendingMarks.add(marked)
        void marked.finally(() => pendingMarks.delete(marked))
      }
    },
  }
}
