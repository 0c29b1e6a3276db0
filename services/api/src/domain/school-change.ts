// Runs one state change of a school: its writes and the events describing them commit together, then
// the events are published.
import type { FastifyBaseLogger } from 'fastify'
import type { PrismaClient } from '@school/db'
import { SchoolNotFound } from '../http-errors.js'
import type { EventPublisher } from './event-publisher.js'
import { SchoolLog, type Tx } from './school-log.js'

export interface ChangeDeps {
  prisma: PrismaClient
  publisher: EventPublisher
}

// Requests of one school queue on its row lock: give them longer than Prisma's 2 s default to get a
// connection and 5 s to finish.
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 15_000 }

/** The request id bound to a request's logger (Fastify binds `reqId`); null for background work. */
export function correlationIdOf(log: FastifyBaseLogger): string | null {
  const bindings = (log as { bindings?: () => Record<string, unknown> }).bindings?.()
  return typeof bindings?.reqId === 'string' ? bindings.reqId : null
}

export async function changeSchool<R>(
  deps: ChangeDeps,
  log: FastifyBaseLogger,
  schoolId: number,
  work: (tx: Tx, events: SchoolLog) => Promise<R>,
): Promise<R> {
  const { result, appended } = await deps.prisma.$transaction(async (tx) => {
    const events = await SchoolLog.open(tx, schoolId, correlationIdOf(log))
    if (!events) throw new SchoolNotFound()
    const result = await work(tx, events)
    if (events.hasUnusedSeq) throw new Error('a school change must append at least one event')
    return { result, appended: events.appended }
  }, TRANSACTION_OPTIONS)
  await deps.publisher.publish(appended, log)
  return result
}
