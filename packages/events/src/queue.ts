// The BullMQ queue that carries domain events from the API to the realtime service.

/**
 * Persisted in Redis (`{REDIS_PREFIX}:school-events:*`): renaming it strands every job still queued
 * under the old name, so a rename needs a migration that drains the old queue first.
 */
export const SCHOOL_EVENTS_QUEUE = 'school-events'

/** BullMQ key prefix for a deployment's REDIS_PREFIX. */
export function queuePrefix(redisPrefix: string): string {
  return `${redisPrefix}:bull`
}

/**
 * The job: a pointer into the event log, which stays the source of truth. The job id is the event id,
 * so enqueueing the same event twice is a no-op.
 */
export interface SchoolEventJob {
  eventId: string
  schoolId: number
  seq: number
  type: string
  /** ISO time the event was committed; lets the consumer measure lag. */
  occurredAt: string
}

/** Job options the producer uses: retries with backoff, bounded history. */
export const SCHOOL_EVENT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 250 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const

/** Channel prefix of the Socket.IO Redis adapter for a deployment's REDIS_PREFIX. */
export function adapterChannelPrefix(redisPrefix: string): string {
  return `${redisPrefix}:socket.io`
}
