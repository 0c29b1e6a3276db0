// Runs one state change of a school: its writes and the events describing them commit together, then
// the events are published. A change that finds nothing to do, or refuses, commits nothing.
import type { PrismaClient } from '@school/db'
import type { CallContext } from './call-context.js'
import type { EventPublisher } from './event-publisher.js'
import { done, refuse, type Outcome, type RefusalReason } from './outcomes.js'
import { SchoolLog, type Tx } from './school-log.js'

export interface ChangeDeps {
  prisma: PrismaClient
  publisher: EventPublisher
}

// Requests of one school queue on its row lock: give them longer than Prisma's 2 s default to get a
// connection and 5 s to finish.
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 15_000 }

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

function isUnchanged<R>(value: unknown): value is Unchanged<R> {
  return typeof value === 'object' && value !== null && UNCHANGED in value
}

/** Thrown out of the transaction to roll it back; carries the outcome past it. */
class RollBack<O> {
  constructor(readonly outcome: O) {}
}

/**
 * Runs `work` in a transaction that holds the school's row lock. Work that refuses (returns a refusal)
 * is rolled back like unchanged work, so it must not have written anything either; an unknown school is
 * refused as `school_not_found` before the work runs.
 */
export async function changeSchool<R, K extends RefusalReason = never>(
  deps: ChangeDeps,
  context: CallContext,
  schoolId: number,
  work: (tx: Tx, events: SchoolLog) => Promise<Outcome<R, K> | Unchanged<R>>,
): Promise<Outcome<R, K | 'school_not_found'>> {
  let committed: { result: R; appended: SchoolLog['appended'] }
  try {
    committed = await deps.prisma.$transaction(async (tx) => {
      const events = await SchoolLog.open(tx, schoolId, context.correlationId)
      if (!events) throw new RollBack(refuse('school_not_found'))
      const outcome = await work(tx, events)
      if (isUnchanged<R>(outcome) || !outcome.ok) {
        if (events.appended.length > 0) throw new Error('a school change that appended events cannot be unchanged or refused')
        throw new RollBack(isUnchanged<R>(outcome) ? done(outcome.result) : outcome)
      }
      if (events.hasUnusedSeq) throw new Error('a school change must append at least one event')
      return { result: outcome.value, appended: events.appended }
    }, TRANSACTION_OPTIONS)
  } catch (error) {
    if (error instanceof RollBack) return error.outcome as Outcome<R, K | 'school_not_found'>
    throw error
  }
  await deps.publisher.publish(committed.appended, context.log)
  return done(committed.result)
}
