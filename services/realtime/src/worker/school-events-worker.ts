// Consumes the school-events queue: loads each event from the log (the source of truth), builds the
// messages it causes and broadcasts them to the school's dashboard room.
import { Worker, type ConnectionOptions, type Job } from 'bullmq'
import type { Logger } from 'pino'
import type { RealtimeConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import { loadEvent, messagesForEvent } from '@school/dashboard'
import { queuePrefix, SCHOOL_EVENTS_QUEUE, type SchoolEventJob } from '@school/events'
import type { Broadcaster } from '../broadcaster.js'

export interface SchoolEventsWorkerDeps {
  config: Pick<RealtimeConfig, 'REDIS_PREFIX' | 'WORKER_CONCURRENCY'>
  prisma: PrismaClient
  broadcaster: Broadcaster
  /** A dedicated connection (or its options) with `maxRetriesPerRequest: null`: the worker blocks on it. */
  connection: ConnectionOptions
  logger: Logger
}

export interface ProcessedEvent {
  schoolId: number
  seq: number
  messages: number
}

export function startSchoolEventsWorker(deps: SchoolEventsWorkerDeps): Worker<SchoolEventJob, ProcessedEvent> {
  const { prisma, broadcaster, logger } = deps

  const process = async (job: Job<SchoolEventJob, ProcessedEvent>): Promise<ProcessedEvent> => {
    const { eventId } = job.data
    const log = logger.child({ eventId, jobId: job.id, attempt: job.attemptsMade + 1 })
    const event = await loadEvent(prisma, eventId)
    // The job can be seen before its transaction is visible to this connection, or point at a rolled
    // back event; throwing lets BullMQ retry with backoff, and a lasting miss ends up in the failed set.
    if (!event) throw new Error(`event ${eventId} is not in the event log`)
    const messages = await messagesForEvent(prisma, event)
    broadcaster.publish(event.schoolId, messages)
    const lagMs = Date.now() - Date.parse(job.data.occurredAt)
    log.debug({ schoolId: event.schoolId, seq: event.seq, type: event.type, messages: messages.length, lagMs }, 'event broadcast')
    return { schoolId: event.schoolId, seq: event.seq, messages: messages.length }
  }

  const worker = new Worker<SchoolEventJob, ProcessedEvent>(SCHOOL_EVENTS_QUEUE, process, {
    connection: deps.connection,
    prefix: queuePrefix(deps.config.REDIS_PREFIX),
    concurrency: deps.config.WORKER_CONCURRENCY,
  })
  worker.on('failed', (job, error) =>
    logger.warn({ err: error, eventId: job?.data.eventId, attemptsMade: job?.attemptsMade }, 'school event job failed'),
  )
  worker.on('error', (error) => logger.error({ err: error }, 'school events worker error'))
  return worker
}
