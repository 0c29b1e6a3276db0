// Authorization is not only checked at the handshake. A change of access made through the API is an event
// (`member.removed`, `member.role_changed`): the instance that applies it tells every instance, and each
// re-checks that user's connections to that school at once. Changes made outside the API (a role edited in
// the database, an account deleted) are caught by a safety net: every ACCESS_RECHECK_MS one statement checks
// every watched (school, user) pair of this instance.
import type { Logger } from 'pino'
import type { PrismaClient } from '@school/db'
import { watchersWithoutAccess, type SchoolWatcher as SchoolUser } from '@school/auth'

/** Close code for a connection whose user lost access to the school while connected. */
export const ACCESS_REVOKED = 4003

/** A connection the recheck can end; it is its own key, so that watching keeps no closure per connection. */
export interface Revocable {
  revoke(): void
}

export type RevocationTrigger = 'event' | 'recheck'

export interface AccessRecheck {
  /** Watches one connection; `revoke()` is called once if its user loses access. */
  watch(schoolId: number, userId: number, connection: Revocable): void
  unwatch(schoolId: number, connection: Revocable): void
  /** The user's access to the school may have changed: re-checks their connections here now (one statement, if any). */
  recheckUser(schoolId: number, userId: number): Promise<void>
  /** Re-checks every watched connection now, in one statement (tests, and the timer). */
  checkNow(): Promise<void>
  close(): void
}

/** Pairs per statement: one statement per interval up to this many watched (school, user) pairs. */
const PAIRS_PER_STATEMENT = 20_000

export function createAccessRecheck(deps: {
  prisma: PrismaClient
  intervalMs: number
  logger: Logger
  onRevoked?(trigger: RevocationTrigger): void
}): AccessRecheck {
  const { prisma, logger } = deps
  const bySchool = new Map<number, Map<Revocable, number>>()

  const revoke = (lost: readonly SchoolUser[], trigger: RevocationTrigger) => {
    for (const { schoolId, userId } of lost) {
      const watchers = bySchool.get(schoolId)
      if (!watchers) continue
      for (const [connection, watcherId] of watchers) {
        if (watcherId !== userId) continue
        watchers.delete(connection)
        logger.info({ schoolId, userId, trigger }, 'access revoked; closing the dashboard connection')
        deps.onRevoked?.(trigger)
        connection.revoke()
      }
      if (watchers.size === 0) bySchool.delete(schoolId)
    }
  }

  const checkNow = async (): Promise<void> => {
    const pairs: SchoolUser[] = []
    for (const [schoolId, watchers] of bySchool) {
      for (const userId of new Set(watchers.values())) pairs.push({ schoolId, userId })
    }
    for (let start = 0; start < pairs.length; start += PAIRS_PER_STATEMENT) {
      revoke(await watchersWithoutAccess(prisma, pairs.slice(start, start + PAIRS_PER_STATEMENT)), 'recheck')
    }
  }

  let running: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    running = running.then(checkNow).catch((error: unknown) => logger.warn({ err: error }, 'access recheck failed'))
  }, deps.intervalMs)
  timer.unref()

  return {
    watch(schoolId, userId, connection) {
      let watchers = bySchool.get(schoolId)
      if (!watchers) bySchool.set(schoolId, (watchers = new Map()))
      watchers.set(connection, userId)
    },
    unwatch(schoolId, connection) {
      const watchers = bySchool.get(schoolId)
      if (!watchers?.delete(connection)) return
      if (watchers.size === 0) bySchool.delete(schoolId)
    },
    async recheckUser(schoolId, userId) {
      const watchers = bySchool.get(schoolId)
      if (!watchers || ![...watchers.values()].includes(userId)) return
      // The database, not the event, decides: a role given back since the event keeps the connection.
      revoke(await watchersWithoutAccess(prisma, [{ schoolId, userId }]), 'event')
    },
    checkNow,
    close() {
      clearInterval(timer)
      bySchool.clear()
    },
  }
}
