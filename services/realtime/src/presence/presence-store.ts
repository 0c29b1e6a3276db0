// Who watches which school's dashboard, kept in Redis so every instance sees all of them: per school a
// hash of open connections, per instance a liveness key whose expiry marks that instance's entries as dead.
import type { Redis } from 'ioredis'
import type { PresenceWatcher, Role } from '@school/events'

/** The user behind one connection, as stored in the school's hash. */
export interface PresenceUser {
  userId: number
  name: string
  role: Role
}

export interface PresenceRead {
  watchers: PresenceWatcher[]
  /** Entries of instances whose liveness key had expired; they were deleted by this read. */
  removedDead: number
}

export interface PresenceStore {
  readonly instanceId: string
  /** Records a connection, and proves this instance alive in the same transaction. */
  add(schoolId: number, connectionId: string, user: PresenceUser): Promise<void>
  remove(schoolId: number, connectionId: string): Promise<void>
  /** The school's watchers; entries of dead instances are deleted on the way. */
  read(schoolId: number): Promise<PresenceRead>
  /** Renews the liveness key and rewrites this instance's entries (restoring any a sweep took while it stalled). */
  heartbeat(local: ReadonlyMap<number, ReadonlyMap<string, PresenceUser>>): Promise<void>
  /** Deletes this instance's entries in the given schools and its liveness key (graceful shutdown). */
  withdraw(local: ReadonlyMap<number, ReadonlyMap<string, PresenceUser>>): Promise<void>
}

const FIELD_SEPARATOR = '|'

export function presenceSchoolKey(prefix: string, schoolId: number): string {
  return `${prefix}:presence:school:${schoolId}`
}

export function presenceInstanceKey(prefix: string, instanceId: string): string {
  return `${prefix}:presence:instance:${instanceId}`
}

/** Watchers from the stored entries: one per user with their connection count, sorted by name then id. */
export function watchersOf(users: Iterable<PresenceUser>): PresenceWatcher[] {
  const byUser = new Map<number, PresenceWatcher>()
  for (const { userId, name, role } of users) {
    const watcher = byUser.get(userId)
    if (watcher) watcher.connections += 1
    else byUser.set(userId, { id: userId, name, role, connections: 1 })
  }
  return [...byUser.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id))
}

function parseUser(raw: string): PresenceUser | null {
  try {
    const value = JSON.parse(raw) as Partial<PresenceUser>
    if (typeof value.userId !== 'number' || typeof value.name !== 'string' || typeof value.role !== 'string') return null
    return { userId: value.userId, name: value.name, role: value.role }
  } catch {
    return null
  }
}

export function createPresenceStore(redis: Redis, options: { prefix: string; instanceId: string; ttlMs: number }): PresenceStore {
  const { prefix, instanceId, ttlMs } = options
  const instanceKey = presenceInstanceKey(prefix, instanceId)
  const field = (connectionId: string) => `${instanceId}${FIELD_SEPARATOR}${connectionId}`
  // A school's hash outlives its last heartbeat by a margin, so a deployment that died whole leaves nothing behind.
  const hashTtlMs = ttlMs * 4
  const encode = (user: PresenceUser) => JSON.stringify({ userId: user.userId, name: user.name, role: user.role })

  return {
    instanceId,

    async add(schoolId, connectionId, user) {
      const key = presenceSchoolKey(prefix, schoolId)
      await redis.multi().set(instanceKey, '1', 'PX', ttlMs).hset(key, field(connectionId), encode(user)).pexpire(key, hashTtlMs).exec()
    },

    async remove(schoolId, connectionId) {
      await redis.hdel(presenceSchoolKey(prefix, schoolId), field(connectionId))
    },

    async read(schoolId) {
      const key = presenceSchoolKey(prefix, schoolId)
      const entries = await redis.hgetall(key)
      const byInstance = new Map<string, Array<[string, string]>>()
      for (const [name, raw] of Object.entries(entries)) {
        const owner = name.slice(0, name.indexOf(FIELD_SEPARATOR))
        let list = byInstance.get(owner)
        if (!list) byInstance.set(owner, (list = []))
        list.push([name, raw])
      }
      const instances = [...byInstance.keys()]
      const alive = instances.length === 0 ? [] : await redis.mget(instances.map((id) => presenceInstanceKey(prefix, id)))
      const users: PresenceUser[] = []
      const dead: string[] = []
      for (const [index, owner] of instances.entries()) {
        for (const [name, raw] of byInstance.get(owner)!) {
          const user = alive[index] === null ? null : parseUser(raw)
          if (user) users.push(user)
          else dead.push(name)
        }
      }
      if (dead.length > 0) await redis.hdel(key, ...dead)
      return { watchers: watchersOf(users), removedDead: dead.length }
    },

    async heartbeat(local) {
      const batch = redis.multi().set(instanceKey, '1', 'PX', ttlMs)
      for (const [schoolId, connections] of local) {
        if (connections.size === 0) continue
        const key = presenceSchoolKey(prefix, schoolId)
        const fields: string[] = []
        for (const [connectionId, user] of connections) fields.push(field(connectionId), encode(user))
        batch.hset(key, ...fields).pexpire(key, hashTtlMs)
      }
      await batch.exec()
    },

    async withdraw(local) {
      const batch = redis.multi().del(instanceKey)
      for (const [schoolId, connections] of local) {
        if (connections.size === 0) continue
        batch.hdel(presenceSchoolKey(prefix, schoolId), ...[...connections.keys()].map(field))
      }
      await batch.exec()
    },
  }
}
