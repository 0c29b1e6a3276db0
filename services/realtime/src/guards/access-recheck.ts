// Authorization is not only checked at the handshake: every ACCESS_RECHECK_MS the open connections of each
// school are compared with the database, and those whose user is no longer an owner or admin of it (role
// changed, membership or account removed) are revoked.
import type { Logger } from 'pino'
import type { PrismaClient } from '@school/db'
import { ADMIN_ROLES } from '@school/events'

/** Close code for a connection whose user lost access to the school while connected. */
export const ACCESS_REVOKED = 4003

/** A connection the recheck can end; it is its own key, so that watching keeps no closure per connection. */
export interface Revocable {
  revoke(): void
}

export interface AccessRecheck {
  /** Watches one connection; `revoke()` is called once if its user loses access. */
  watch(schoolId: number, userId: number, connection: Revocable): void
  unwatch(schoolId: number, connection: Revocable): void
  /** Runs one check now (tests, and the timer). */
  checkNow(): Promise<void>
  close(): void
}

export function createAccessRecheck(deps: { prisma: PrismaClient; intervalMs: number; logger: Logger }): AccessRecheck {
  const bySchool = new Map<number, Map<Revocable, number>>()

  const checkNow = async (): Promise<void> => {
    for (const [schoolId, watchers] of bySchool) {
      const userIds = [...new Set(watchers.values())]
      const allowed = await deps.prisma.membership.findMany({
        where: { schoolId, userId: { in: userIds }, role: { in: [...ADMIN_ROLES] } },
        select: { userId: true },
      })
      const stillAdmins = new Set(allowed.map((row) => row.userId))
      for (const [connection, userId] of watchers) {
        if (stillAdmins.has(userId)) continue
        watchers.delete(connection)
        deps.logger.info({ schoolId, userId }, 'access revoked; closing the dashboard connection')
        connection.revoke()
      }
      if (watchers.size === 0) bySchool.delete(schoolId)
    }
  }

  let running: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    running = running.then(checkNow).catch((error: unknown) => deps.logger.warn({ err: error }, 'access recheck failed'))
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
    checkNow,
    close() {
      clearInterval(timer)
      bySchool.clear()
    },
  }
}
