// This instance's part of dashboard presence: records its connections in the shared store, broadcasts a
// school's `presence_update` when they change (debounced), keeps its entries alive, and sweeps out dead instances'.
import type { Logger } from 'pino'
import type { Namespace } from 'socket.io'
import { dashboardRoom, envelope, type AnyEnvelope, type PresenceWatcher } from '@school/events'
import type { AdapterBridge, PlainMembership } from '../gateways/adapter-bridge.js'
import type { Broadcaster } from '../broadcaster.js'
import type { PresenceStore, PresenceUser } from './presence-store.js'

export interface SchoolPresence {
  /** This instance's id in the store's keys and fields. */
  readonly instanceId: string
  /** A connection whose stream is starting: it and every other watcher of the school get the new list. */
  joined(schoolId: number, connectionId: string, user: PresenceUser): void
  left(schoolId: number, connectionId: string): void
  /** Runs one dead-instance sweep now; resolves once its broadcasts are sent. */
  sweep(): Promise<void>
  /** Graceful exit: deletes this instance's entries and liveness key, then tells the schools it had watchers of. */
  close(): Promise<void>
  /** Stops every timer and forgets the local state without touching Redis, as a killed process would (tests). */
  halt(): void
}

export interface SchoolPresenceOptions {
  store: PresenceStore
  broadcaster: Broadcaster
  bridge: AdapterBridge
  namespace: Namespace
  logger: Logger
  heartbeatMs: number
  sweepMs: number
  /** A burst of connections within this window yields one update per school. */
  debounceMs?: number
}

interface LocalSchool {
  connections: Map<string, PresenceUser>
  /** Store writes of this school, in order; a read waits for them so it sees its own changes. */
  writes: Promise<void>
  timer: NodeJS.Timeout | undefined
  /** A flush is reading: it will publish the current list, so a sweep need not. */
  flushing: number
  /** Receives the school's broadcasts, to know the list its clients were last sent, whoever sent it. */
  observer: PlainMembership
}

const DEFAULT_DEBOUNCE_MS = 50
const WATCHERS_PER_WINDOW = 100

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
  const { store, broadcaster, bridge, namespace, logger } = options
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS
  const schools = new Map<number, LocalSchool>()
  /** The last `presence_update` list this instance's clients of a school received, serialized. */
  const lastSent = new Map<number, string>()
  let stopped = false
  let sweeping: Promise<void> | undefined

  const publish = (schoolId: number, watchers: PresenceWatcher[]) => {
    broadcaster.publish(schoolId, [envelope('presence_update', { schoolId, watchers })])
  }

  const schoolOf = (schoolId: number): LocalSchool => {
    let school = schools.get(schoolId)
    if (school) return school
    const observer = bridge.join(namespace.adapter, `presence:${store.instanceId}:${schoolId}`, dashboardRoom(schoolId), {
      deliver({ message }) {
        if (message.type === 'presence_update') lastSent.set(schoolId, JSON.stringify(message.data.watchers))
      },
    })
    school = { connections: new Map(), writes: Promise.resolve(), timer: undefined, flushing: 0, observer }
    schools.set(schoolId, school)
    return school
  }

  const write = (schoolId: number, school: LocalSchool, change: () => Promise<void>) => {
    school.writes = school.writes.then(change).catch((error: unknown) => logger.warn({ err: error, schoolId }, 'presence could not be recorded'))
  }

  const flush = async (schoolId: number, school: LocalSchool) => {
    school.timer = undefined
    school.flushing += 1
    try {
      await school.writes
      const { watchers } = await store.read(schoolId)
      if (!stopped) publish(schoolId, watchers)
    } finally {
      school.flushing -= 1
    }
  }

  const schedule = (schoolId: number, school: LocalSchool) => {
    if (school.timer || stopped) return
    school.timer = setTimeout(() => {
      flush(schoolId, school).catch((error: unknown) => logger.warn({ err: error, schoolId }, 'presence could not be read'))
    }, presenceWindowMs(debounceMs, school.connections.size))
  }

  const forget = (schoolId: number, school: LocalSchool) => {
    clearTimeout(school.timer)
    school.observer.leave()
    schools.delete(schoolId)
    lastSent.delete(schoolId)
  }

  const localEntries = () => new Map([...schools].map(([schoolId, school]) => [schoolId, school.connections]))

  const heartbeat = setInterval(() => {
    store.heartbeat(localEntries()).catch((error: unknown) => logger.warn({ err: error }, 'presence heartbeat failed'))
  }, options.heartbeatMs)
  heartbeat.unref()

  const sweepOnce = async () => {
    for (const [schoolId, school] of [...schools]) {
      const { watchers, removedDead } = await store.read(schoolId)
      const list = JSON.stringify(watchers)
      const flushPending = school.timer !== undefined || school.flushing > 0
      // A list that differs from the last one sent also repairs an older list that overtook a newer one
      // between two instances (each reads, then publishes); a pending flush sends the current list anyway.
      if (stopped || schools.get(schoolId) !== school || flushPending || (removedDead === 0 && lastSent.get(schoolId) === list)) continue
      if (removedDead > 0) logger.info({ schoolId, removed: removedDead }, 'presence of a dead instance removed')
      publish(schoolId, watchers)
    }
  }
  const sweep = () =>
    (sweeping ??= sweepOnce()
      .catch((error: unknown) => logger.warn({ err: error }, 'presence sweep failed'))
      .finally(() => (sweeping = undefined)))
  const sweeper = setInterval(() => void sweep(), options.sweepMs)
  sweeper.unref()

  const stopTimers = () => {
    stopped = true
    clearInterval(heartbeat)
    clearInterval(sweeper)
  }

  return {
    instanceId: store.instanceId,

    joined(schoolId, connectionId, user) {
      if (stopped) return
      const school = schoolOf(schoolId)
      school.connections.set(connectionId, user)
      write(schoolId, school, () => store.add(schoolId, connectionId, user))
      schedule(schoolId, school)
    },

    left(schoolId, connectionId) {
      const school = schools.get(schoolId)
      if (stopped || !school?.connections.delete(connectionId)) return
      write(schoolId, school, () => store.remove(schoolId, connectionId))
      if (school.connections.size > 0) return schedule(schoolId, school)
      // The last watcher here: nobody local to tell, but the other instances' clients need the update.
      const writes = school.writes
      forget(schoolId, school)
      void writes
        .then(() => store.read(schoolId))
        .then(({ watchers }) => {
          if (!stopped) publish(schoolId, watchers)
        })
        .catch((error: unknown) => logger.warn({ err: error, schoolId }, 'presence could not be read'))
    },

    sweep,

    async close() {
      if (stopped) return
      stopTimers()
      const local = localEntries()
      for (const [schoolId, school] of [...schools]) {
        await school.writes
        forget(schoolId, school)
      }
      await store.withdraw(local)
      await Promise.all(
        [...local.keys()].map(async (schoolId) => {
          const { watchers } = await store.read(schoolId)
          publish(schoolId, watchers)
        }),
      )
    },

    halt() {
      stopTimers()
      for (const [schoolId, school] of [...schools]) forget(schoolId, school)
    },
  }
}
