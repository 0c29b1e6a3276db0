// This instance's part of dashboard presence: records its connections in the shared store when they open
// and close, and broadcasts a school's `presence_update` after a change (debounced). Nothing here runs on a
// timer per school: liveness is the instance lease (cluster/instance-lease.ts), whose renewal calls
// cleanUp() when other instances lapsed and repair() when this one did.
import type { Logger } from 'pino'
import { envelope } from '@school/events'
import type { Broadcaster } from '../broadcaster.js'
import type { PresenceList, PresenceStore, Watching } from './presence-store.js'

export interface SchoolPresence {
  /** This instance's id in the store's keys and fields. */
  readonly instanceId: string
  /** A connection whose stream is starting: it and every other watcher of the school get the new list. */
  joined(schoolId: number, connectionId: string, watching: Watching): void
  left(schoolId: number, connectionId: string): void
  /**
   * Removes the entries of lapsed instances that this instance claims first, and tells their schools' watchers
   * (the others found the claim taken and do nothing). Resolves once the lists are published.
   */
  cleanUp(deadInstanceIds: readonly string[]): Promise<void>
  /** Writes every local entry again and republishes the lists (this instance's lease had lapsed, or Redis lost them). */
  repair(): Promise<void>
  /** Graceful exit: deletes this instance's entries, index and lease, then tells the schools it had watchers of. */
  close(): Promise<void>
  /** Forgets the local state without touching Redis, as a killed process would (tests). */
  halt(): void
}

export interface SchoolPresenceOptions {
  store: PresenceStore
  broadcaster: Broadcaster
  logger: Logger
  /** A burst of connections within this window yields one update per school. */
  debounceMs?: number
  /** Called after this instance claimed a lapsed instance and published its schools' corrected lists. */
  onClaimed?(deadInstanceId: string, schools: number): void
}

interface LocalSchool {
  connections: Map<string, Watching>
  timer: NodeJS.Timeout | undefined
}

const DEFAULT_DEBOUNCE_MS = 50
const WATCHERS_PER_WINDOW = 100
/** Lists read and published at once when many schools change together (a claim, a repair). */
const REPUBLISH_CHUNK = 500

/**
 * How long a school's presence changes are gathered before one update: the debounce, once per started
 * hundred local watchers. Every update goes to every watcher, so with a fixed window a school of 10,000
 * connecting at once would be sent 10,000 lists of up to 10,000 names each; growing the window with the
 * audience keeps the messages sent per second about the same at any school size.
 */
export function presenceWindowMs(debounceMs: number, localWatchers: number, watchersPerWindow = WATCHERS_PER_WINDOW): number {
  return debounceMs * Math.max(1, Math.ceil(localWatchers / watchersPerWindow))
}

export function createSchoolPresence(options: SchoolPresenceOptions): SchoolPresence {
  const { store, broadcaster, logger } = options
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS
  const schools = new Map<number, LocalSchool>()
  /**
   * Store writes per school, in order, kept past the school's last local connection until they settle: a
   * connection that opens right after the last one closed must not have its write overtaken by the removal.
   */
  const writes = new Map<number, Promise<void>>()
  /** Set once closing or halted: connections opening or closing are no longer recorded. */
  let leaving = false
  /** Set once closed or halted: nothing more is published. */
  let stopped = false

  const publish = (schoolId: number, { version, watchers }: PresenceList) => {
    if (!stopped) broadcaster.publish(schoolId, [envelope('presence_update', { schoolId, watchers, version })])
  }

  const write = (schoolId: number, change: () => Promise<void>): Promise<void> => {
    const next = (writes.get(schoolId) ?? Promise.resolve())
      .then(change)
      .catch((error: unknown) => logger.warn({ err: error, schoolId }, 'presence could not be recorded'))
    writes.set(schoolId, next)
    void next.then(() => {
      if (writes.get(schoolId) === next) writes.delete(schoolId)
    })
    return next
  }

  /** Reads the list after the school's writes so far, and publishes it. */
  const readAndPublish = async (schoolId: number, skipEmpty = false) => {
    await writes.get(schoolId)
    const list = await store.read(schoolId)
    // Nobody anywhere watches a school with no watchers: there is no one to tell.
    if (skipEmpty && list.watchers.length === 0) return
    publish(schoolId, list)
  }

  const flush = (schoolId: number) =>
    readAndPublish(schoolId).catch((error: unknown) => logger.warn({ err: error, schoolId }, 'presence could not be read'))

  const schedule = (schoolId: number, school: LocalSchool) => {
    if (school.timer || leaving) return
    school.timer = setTimeout(() => {
      school.timer = undefined
      void flush(schoolId)
    }, presenceWindowMs(debounceMs, school.connections.size))
  }

  const forget = (schoolId: number, school: LocalSchool) => {
    clearTimeout(school.timer)
    schools.delete(schoolId)
  }

  /** Reads and publishes the lists of many schools, a chunk at a time. */
  const republish = async (schoolIds: readonly number[], skipEmpty: boolean) => {
    for (let start = 0; start < schoolIds.length; start += REPUBLISH_CHUNK) {
      await Promise.all(schoolIds.slice(start, start + REPUBLISH_CHUNK).map((schoolId) => readAndPublish(schoolId, skipEmpty)))
    }
  }

  return {
    instanceId: store.instanceId,

    joined(schoolId, connectionId, watching) {
      if (leaving) return
      let school = schools.get(schoolId)
      if (!school) schools.set(schoolId, (school = { connections: new Map(), timer: undefined }))
      school.connections.set(connectionId, watching)
      void write(schoolId, () => store.add(schoolId, [[connectionId, watching]]))
      schedule(schoolId, school)
    },

    left(schoolId, connectionId) {
      const school = schools.get(schoolId)
      if (leaving || !school?.connections.delete(connectionId)) return
      const lastHere = school.connections.size === 0
      void write(schoolId, () => store.remove(schoolId, connectionId, lastHere))
      if (!lastHere) return schedule(schoolId, school)
      // The last watcher here: nobody local to tell, but the other instances' clients need the update.
      forget(schoolId, school)
      void flush(schoolId)
    },

    async cleanUp(deadInstanceIds) {
      for (const deadInstanceId of deadInstanceIds) {
        if (leaving) return
        const claimed = await store.claim(deadInstanceId)
        if (claimed === null) continue
        await republish(claimed, true)
        logger.info({ deadInstanceId, schools: claimed.length }, 'presence of a lapsed instance removed')
        options.onClaimed?.(deadInstanceId, claimed.length)
      }
    },

    async repair() {
      if (leaving) return
      const local = [...schools]
      await Promise.all(local.map(([schoolId, school]) => write(schoolId, () => store.add(schoolId, school.connections))))
      await republish(
        local.map(([schoolId]) => schoolId),
        false,
      )
    },

    async close() {
      if (leaving) return
      leaving = true
      await Promise.all(writes.values())
      for (const [schoolId, school] of [...schools]) forget(schoolId, school)
      const withdrawn = await store.withdraw()
      await republish(withdrawn, true)
      stopped = true
    },

    halt() {
      leaving = true
      stopped = true
      for (const [schoolId, school] of [...schools]) forget(schoolId, school)
    },
  }
}
