// Authorization is not only checked at the handshake: a connection ends when its user loses the owner/admin
// role of its school, or when the session of its token ends (sign-out, password change, a reused refresh
// token). Both reach every instance as one kind of notice, a revocation scope (a user's connections to one
// school, of one session, or all of them): the instance that learns of it (its worker applied an access
// event, or it took a job from the connection-revocations queue) tells every instance, and each re-checks
// its connections in that scope against the database at once, in one statement. Changes made outside the
// API (a role edited in the database, an account deleted, a session revoked by hand) are caught by a safety
// net: every ACCESS_RECHECK_MS one statement checks every watched (school, user, session) of this instance.
import type { Logger } from 'pino'
import type { PrismaClient } from '@school/db'
import { watchersWithoutAccess, type LostWatcher, type SchoolWatcher } from '@school/auth'
import type { RevocationScope } from '@school/events'

/** Close code for a connection whose user lost access to the school while connected. */
export const ACCESS_REVOKED = 4003

/** Why a connection is ended: the role is gone (`access`), or the session of its token is (`session`). */
export type RevocationReason = LostWatcher['reason']

/** A connection the recheck can end; it is its own key, so that watching keeps no closure per connection. */
export interface Revocable {
  readonly access: { readonly schoolId: number; readonly user: { readonly id: number }; readonly sessionId?: string | undefined }
  revoke(reason: RevocationReason): void
}

export type RevocationTrigger = 'event' | 'recheck'

export interface AccessRecheck {
  /** Watches one connection; `revoke()` is called once if its user loses access or its session ends. */
  watch(connection: Revocable): void
  unwatch(connection: Revocable): void
  /** Something changed for this user: re-checks their connections here in that scope now (one statement, if any). */
  recheck(scope: RevocationScope): Promise<void>
  /** Re-checks every watched connection now, in one statement (tests, and the timer). */
  checkNow(): Promise<void>
  close(): void
}

/** Watchers per statement: one statement per interval up to this many watched (school, user, session). */
const WATCHERS_PER_STATEMENT = 20_000

function inScope(connection: Revocable, scope: RevocationScope): boolean {
  if ('schoolId' in scope) return connection.access.schoolId === scope.schoolId
  if ('sessionId' in scope) return connection.access.sessionId === scope.sessionId
  return true
}

const keyOf = (watcher: SchoolWatcher) => `${watcher.schoolId}|${watcher.userId}|${watcher.sessionId ?? ''}`

/** A user's watched connections: most users have one, which is kept without a Set of its own. */
type UserConnections = Revocable | Set<Revocable>

function listOf(entry: UserConnections | undefined): Revocable[] {
  if (entry === undefined) return []
  return entry instanceof Set ? [...entry] : [entry]
}

export function createAccessRecheck(deps: {
  prisma: PrismaClient
  intervalMs: number
  logger: Logger
  onRevoked?(trigger: RevocationTrigger, reason: RevocationReason): void
}): AccessRecheck {
  const { prisma, logger } = deps
  /** Every watched connection, by user: a notice names a user, and a user has few connections. */
  const byUser = new Map<number, UserConnections>()

  const add = (userId: number, connection: Revocable) => {
    const entry = byUser.get(userId)
    if (entry === undefined) byUser.set(userId, connection)
    else if (entry instanceof Set) entry.add(connection)
    else if (entry !== connection) byUser.set(userId, new Set([entry, connection]))
  }
  /** Whether the connection was watched. */
  const remove = (userId: number, connection: Revocable): boolean => {
    const entry = byUser.get(userId)
    if (entry === connection) return byUser.delete(userId)
    if (!(entry instanceof Set) || !entry.delete(connection)) return false
    if (entry.size === 1) byUser.set(userId, entry.values().next().value!)
    return true
  }

  const watcherOf = (connection: Revocable): SchoolWatcher => ({
    schoolId: connection.access.schoolId,
    userId: connection.access.user.id,
    sessionId: connection.access.sessionId,
  })

  /** Asks the database about the distinct watchers of these connections and ends those it rules out. */
  const check = async (connections: Iterable<Revocable>, trigger: RevocationTrigger) => {
    const distinct = new Map<string, SchoolWatcher>()
    for (const connection of connections) {
      const watcher = watcherOf(connection)
      distinct.set(keyOf(watcher), watcher)
    }
    const watchers = [...distinct.values()]
    for (let start = 0; start < watchers.length; start += WATCHERS_PER_STATEMENT) {
      const lost = await watchersWithoutAccess(prisma, watchers.slice(start, start + WATCHERS_PER_STATEMENT))
      revoke(lost, trigger)
    }
  }

  const revoke = (lost: readonly LostWatcher[], trigger: RevocationTrigger) => {
    const reasons = new Map(lost.map((watcher) => [keyOf(watcher), watcher.reason]))
    for (const userId of new Set(lost.map((watcher) => watcher.userId))) {
      for (const connection of listOf(byUser.get(userId))) {
        const reason = reasons.get(keyOf(watcherOf(connection)))
        if (reason === undefined) continue
        remove(userId, connection)
        const { schoolId, sessionId } = connection.access
        logger.info({ schoolId, userId, sessionId, trigger, reason }, `${reason === 'session' ? 'session ended' : 'access revoked'}; closing the dashboard connection`)
        deps.onRevoked?.(trigger, reason)
        connection.revoke(reason)
      }
    }
  }

  const checkNow = async (): Promise<void> => {
    const all: Revocable[] = []
    for (const entry of byUser.values()) all.push(...listOf(entry))
    await check(all, 'recheck')
  }

  let running: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    running = running.then(checkNow).catch((error: unknown) => logger.warn({ err: error }, 'access recheck failed'))
  }, deps.intervalMs)
  timer.unref()

  return {
    watch(connection) {
      add(connection.access.user.id, connection)
    },
    unwatch(connection) {
      remove(connection.access.user.id, connection)
    },
    async recheck(scope) {
      const connections = listOf(byUser.get(scope.userId)).filter((connection) => inScope(connection, scope))
      if (connections.length === 0) return
      // The database, not the notice, decides: a role given back since the event keeps the connection.
      await check(connections, 'event')
    },
    checkNow,
    close() {
      clearInterval(timer)
      byUser.clear()
    },
  }
}
