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
 * What a job may carry of its event besides the pointer: the rest of the event as the log holds it, so a
 * consumer that knows the school's projection can apply it without reading the log.
 */
export interface SchoolEventJobContent {
  actor: { id: number; name: string } | null
  payload: unknown
  correlationId: string | null
}

/**
 * The job: a pointer into the event log, which stays the source of truth, and usually a copy of the event.
 * The job id is the event id, so enqueueing the same event twice is a no-op.
 */
export interface SchoolEventJob {
  eventId: string
  schoolId: number
  seq: number
  type: string
  /** ISO time the event was committed; lets the consumer measure lag. */
  occurredAt: string
  /**
   * The event's content, written by the producer that committed it. Absent from the outbox relay's jobs
   * and from jobs enqueued before it existed: the consumer then reads the event from the log.
   */
  event?: SchoolEventJobContent
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

/**
 * Carries "close this user's connections" from the API to the realtime service: a session that ended
 * (sign-out, a reused refresh token) or every session of a user (password change). Persisted in Redis
 * (`{REDIS_PREFIX}:bull:connection-revocations:*`); renaming it strands the notices still queued, which
 * the realtime service's periodic access recheck then catches within ACCESS_RECHECK_MS.
 */
export const CONNECTION_REVOCATIONS_QUEUE = 'connection-revocations'

/**
 * Whose connections to re-check now, on every realtime instance: a user's connections to one school, of
 * one session, or all of them. A notice, not a verdict: each instance asks the database, which decides.
 */
export type RevocationScope =
  | { userId: number; schoolId: number }
  | { userId: number; sessionId: string }
  | { userId: number }

/** The job: a scope, and why (for logs). */
export interface ConnectionRevocationJob {
  scope: RevocationScope
  reason: 'logout' | 'password_changed' | 'refresh_token_reused' | 'access_changed'
}

/** Job options of the revocation producer: a few quick retries, no history kept. */
export const CONNECTION_REVOCATION_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 100 },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600 },
} as const

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A scope as received from another process (a job, an instance): null unless it is well-formed. */
export function parseRevocationScope(raw: unknown): RevocationScope | null {
  if (typeof raw !== 'object' || raw === null) return null
  const { userId, schoolId, sessionId } = raw as Record<string, unknown>
  const isId = (id: unknown): id is number => Number.isSafeInteger(id) && (id as number) > 0 && (id as number) <= 2_147_483_647
  if (!isId(userId)) return null
  if (schoolId !== undefined && sessionId !== undefined) return null
  if (schoolId !== undefined) return isId(schoolId) ? { userId, schoolId } : null
  if (sessionId !== undefined) return typeof sessionId === 'string' && UUID.test(sessionId) ? { userId, sessionId } : null
  return { userId }
}
