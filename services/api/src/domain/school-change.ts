// Runs one state change of a school: its writes and the events describing them commit together, then
// the events are published. A change that finds nothing to do commits nothing.
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

const UNCHANGED = Symbol('unchanged')

/** What a change that found nothing to do returns; see `unchanged`. */
export interface Unchanged<R> {
  readonly [UNCHANGED]: true
  readonly result: R
}

/**
 * Returned by a change's work when, under the row lock, it finds there is nothing to do (e.g. a member
 * given the role they have): the transaction is rolled back, which gives back the seq `SchoolLog.open`
 * took, so the log has no gap, and nothing is published. The work must not have written anything.
 */
export function unchanged<R>(result: R): Unchanged<R> {
  return { [UNCHANGED]: true, result }
}

function isUnchanged<R>(value: R | Unchanged<R>): value is Unchanged<R> {
  return typeof value === 'object' && value !== null && UNCHANGED in value
}

/** Thrown out of the transaction to roll it back; carries the result past it. */
class RollBack<R> {
  constructor(readonly result: R) {}
}

export async function changeSchool<R>(
  deps: ChangeDeps,
  log: FastifyBaseLogger,
  schoolId: number,
  work: (tx: Tx, events: SchoolLog) => Promise<R | Unchanged<R>>,
): Promise<R> {
  let committed: { result: R; appended: SchoolLog['appended'] }
  try {
    committed = await deps.prisma.$transaction(async (tx) => {
      const events = await SchoolLog.open(tx, schoolId, correlationIdOf(log))
      if (!events) throw new SchoolNotFound()
      const result = await work(tx, events)
      if (isUnchanged(result)) {
        if (events.appended.length > 0) throw new Error('a school change that appended events cannot be unchanged')
        throw new RollBack(result.result)
      }
      if (events.hasUnusedSeq) throw new Error('a school change must append at least one event')
      return { result, appended: events.appended }
    }, TRANSACTION_OPTIONS)
  } catch (error) {
    if (error instanceof RollBack) return error.result as R
    throw error
  }
  await deps.publisher.publish(committed.appended, log)
  return committed.result
}
