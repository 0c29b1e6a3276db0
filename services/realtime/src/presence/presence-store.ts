// Who watches which school's dashboard, kept in Redis so every instance sees all of them. Per school a hash
// of open connections (`{instanceId}|{connectionId}` -> the user) and a version; per instance an index of
// the schools it has entries in. Entries are written when a connection opens or closes, never on a timer:
// an entry counts while its instance's lease (cluster/instance-lease.ts) is current, and a lapsed instance's
// entries are removed once, by whichever instance claims it first, found through its index.
//
// Every change takes a new version from one counter for the deployment, so versions only grow, even for a
// school whose hash emptied and came back; a `presence_update` carries the version it was read at, and a
// stream never sends an older list after a newer one (two instances may publish in either order).
//
// The scripts touch school hashes they are not given as KEYS (found through the index), which a single
// Redis allows and Redis Cluster would not (docs/ARCHITECTURE.md, Scale-out).
import type { Redis } from 'ioredis'
import type { PresenceWatcher, Role } from '@school/events'
import { instanceLeasesKey, REDIS_NOW_MS } from '../cluster/instance-lease.js'

/** The user behind one connection, as stored in the school's hash. */
export interface PresenceUser {
  userId: number
  name: string
  role: Role
}

/** Who a local connection is connected as: its handshake's access, referenced rather than copied per connection. */
export interface Watching {
  readonly user: { readonly id: number; readonly name: string }
  readonly role: Role
}

export interface PresenceList {
  /** Grows with every change of the school's entries (and with nothing else). */
  version: number
  watchers: PresenceWatcher[]
}

export interface PresenceStore {
  readonly instanceId: string
  /** Records connections of one school (one, or all of them again after a lapse) and indexes the school under this instance. */
  add(schoolId: number, connections: Iterable<readonly [connectionId: string, watching: Watching]>): Promise<void>
  /** Removes a connection; `lastHere` drops the school from this instance's index too. */
  remove(schoolId: number, connectionId: string, lastHere: boolean): Promise<void>
  /** The school's watchers on instances whose lease is current. */
  read(schoolId: number): Promise<PresenceList>
  /**
   * Removes a lapsed instance's lease, entries and index, atomically, unless its lease was renewed or another
   * instance claimed it first; resolves with the schools it had entries in, or null when not claimed.
   */
  claim(deadInstanceId: string): Promise<number[] | null>
  /** Removes this instance's lease, entries and index (graceful exit); resolves with the schools it was in. */
  withdraw(): Promise<number[]>
}

const FIELD_SEPARATOR = '|'
/** The hash field holding the version; it has no separator, so it is never taken for an entry. */
const VERSION_FIELD = 'v'

export function presenceKeys(prefix: string) {
  return {
    schoolPrefix: `${prefix}:presence:school:`,
    school: (schoolId: number) => `${prefix}:presence:school:${schoolId}`,
    index: (instanceId: string) => `${prefix}:presence:instance:${instanceId}:schools`,
    version: `${prefix}:presence:version`,
    leases: instanceLeasesKey(prefix),
  }
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

// A hash left with only its version has no watchers: it is deleted rather than kept for a school nobody watches.
const BUMP = `
local function bump(key, version_key)
  if redis.call('HLEN', key) <= 1 then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, '${VERSION_FIELD}', redis.call('INCR', version_key))
  end
end
`

/** KEYS: school hash, this instance's index, version counter. ARGV: school id, then field/value pairs. */
const ADD = `
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], '${VERSION_FIELD}', redis.call('INCR', KEYS[3]))
redis.call('SADD', KEYS[2], ARGV[1])
return 0
`

/** KEYS: school hash, this instance's index, version counter. ARGV: school id, field, '1' if it was the instance's last there. */
const REMOVE = `${BUMP}
if redis.call('HDEL', KEYS[1], ARGV[2]) == 1 then bump(KEYS[1], KEYS[3]) end
if ARGV[3] == '1' then redis.call('SREM', KEYS[2], ARGV[1]) end
return 0
`

/** KEYS: school hash, leases. Returns the version, then the entries of instances whose lease is current. */
const READ = `${REDIS_NOW_MS}
local now = now_ms()
local entries = redis.call('HGETALL', KEYS[1])
local out = { '0' }
local alive = {}
for i = 1, #entries, 2 do
  local field = entries[i]
  if field == '${VERSION_FIELD}' then
    out[1] = entries[i + 1]
  else
    local separator = string.find(field, '${FIELD_SEPARATOR}', 1, true)
    if separator then
      local instance = string.sub(field, 1, separator - 1)
      local current = alive[instance]
      if current == nil then
        local expires = redis.call('ZSCORE', KEYS[2], instance)
        current = expires ~= false and tonumber(expires) >= now
        alive[instance] = current
      end
      if current then out[#out + 1] = entries[i + 1] end
    end
  end
end
return out
`

/**
 * KEYS: leases, the instance's index, version counter. ARGV: instance id, school key prefix, '1' to remove it
 * only if its lease has lapsed (a claim). Returns the schools it had entries in, or nil when not claimed.
 */
const REMOVE_INSTANCE = `${REDIS_NOW_MS}${BUMP}
if ARGV[3] == '1' then
  local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if expires == false or tonumber(expires) >= now_ms() then return nil end
end
redis.call('ZREM', KEYS[1], ARGV[1])
local schools = redis.call('SMEMBERS', KEYS[2])
local owned = ARGV[1] .. '${FIELD_SEPARATOR}'
for _, school in ipairs(schools) do
  local key = ARGV[2] .. school
  local removed = 0
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, #owned) == owned then
      redis.call('HDEL', key, field)
      removed = removed + 1
    end
  end
  if removed > 0 then bump(key, KEYS[3]) end
end
redis.call('DEL', KEYS[2])
return schools
`

interface PresenceScripts {
  sdPresenceAdd(school: string, index: string, version: string, schoolId: number, ...fields: string[]): Promise<number>
  sdPresenceRemove(school: string, index: string, version: string, schoolId: number, field: string, lastHere: string): Promise<number>
  sdPresenceRead(school: string, leases: string): Promise<string[]>
  sdPresenceRemoveInstance(leases: string, index: string, version: string, instanceId: string, schoolPrefix: string, onlyIfLapsed: string): Promise<string[] | null>
}

export function createPresenceStore(redis: Redis, options: { prefix: string; instanceId: string }): PresenceStore {
  const { instanceId } = options
  const keys = presenceKeys(options.prefix)
  const index = keys.index(instanceId)
  const field = (connectionId: string) => `${instanceId}${FIELD_SEPARATOR}${connectionId}`
  const encode = ({ user, role }: Watching) => JSON.stringify({ userId: user.id, name: user.name, role })
  redis.defineCommand('sdPresenceAdd', { numberOfKeys: 3, lua: ADD })
  redis.defineCommand('sdPresenceRemove', { numberOfKeys: 3, lua: REMOVE })
  redis.defineCommand('sdPresenceRead', { numberOfKeys: 2, lua: READ })
  redis.defineCommand('sdPresenceRemoveInstance', { numberOfKeys: 3, lua: REMOVE_INSTANCE })
  const scripts = redis as unknown as PresenceScripts
  const removeInstance = (id: string, onlyIfLapsed: boolean) =>
    scripts.sdPresenceRemoveInstance(keys.leases, keys.index(id), keys.version, id, keys.schoolPrefix, onlyIfLapsed ? '1' : '0')

  return {
    instanceId,

    async add(schoolId, connections) {
      const fields: string[] = []
      for (const [connectionId, watching] of connections) fields.push(field(connectionId), encode(watching))
      if (fields.length > 0) await scripts.sdPresenceAdd(keys.school(schoolId), index, keys.version, schoolId, ...fields)
    },

    async remove(schoolId, connectionId, lastHere) {
      await scripts.sdPresenceRemove(keys.school(schoolId), index, keys.version, schoolId, field(connectionId), lastHere ? '1' : '0')
    },

    async read(schoolId) {
      const [version, ...entries] = await scripts.sdPresenceRead(keys.school(schoolId), keys.leases)
      const users: PresenceUser[] = []
      for (const raw of entries) {
        const user = parseUser(raw)
        if (user) users.push(user)
      }
      return { version: Number(version), watchers: watchersOf(users) }
    },

    async claim(deadInstanceId) {
      const schools = await removeInstance(deadInstanceId, true)
      return schools === null ? null : schools.map(Number)
    },

    async withdraw() {
      return ((await removeInstance(instanceId, false)) ?? []).map(Number)
    },
  }
}
