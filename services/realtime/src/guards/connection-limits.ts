// Limits on dashboard connections that hold across every realtime instance, kept in Redis: open
// connections per user and per client address, and handshake attempts per address and minute.
//
// Open connections: per user and per address a hash with one field per instance holding that instance's
// count. An instance writes only its own field, always as an absolute value, so a write that is repeated
// (ioredis re-sends unanswered commands after a reconnect) changes nothing. A count is only believed while
// its instance's lease (cluster/instance-lease.ts) is current: the fields of an instance that was killed stop
// counting when its lease lapses (PRESENCE_TTL_MS) and are deleted by the next check that meets them. The
// check and the write are one Lua script, so two instances cannot both take the last slot. Connect and
// disconnect cost one round trip each; this instance's operations on one key run one after the other, so
// the count it sends is always the count it has. Nothing runs on a timer unless a write failed.
//
// Redis unreachable: the limits fail open (the connection is admitted and counted locally, and the counts
// are written once Redis answers again); docs/SECURITY.md says why.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { instanceLeasesKey, REDIS_NOW_MS } from '../cluster/instance-lease.js'

export type LimitRefusalCode = 'rate_limited' | 'too_many_connections'

export interface LimitRefusal {
  status: 429
  code: LimitRefusalCode
  message: string
  /** Seconds until a new attempt can succeed, when that is known (the handshake window). */
  retryAfterSeconds?: number
}

/** One admitted connection's slot; release() gives it back and may be called any number of times. */
export interface ConnectionLease {
  release(): void
  /** The connection's token was renewed until `tokenExpiresAt` (seconds): its counts must live that long. */
  extend(tokenExpiresAt: number): void
}

export interface ConnectionLimits {
  /** Counts one handshake attempt from `address`: a refusal once the minute's attempts are spent. */
  attempt(address: string): Promise<LimitRefusal | null>
  /** Takes a slot for one connection of `userId` from `address`, or says which limit is reached. */
  admit(userId: number, address: string, tokenExpiresAt: number | undefined): Promise<{ lease: ConnectionLease } | { refusal: LimitRefusal }>
  /** Resolves once every count write queued so far has been tried (shutdown, tests). */
  settled(): Promise<void>
  /** Writes every count of this instance again (its lease had lapsed: others may have deleted them). */
  rewriteAll(): Promise<void>
  /** Stops the repair timer; the counts in Redis are left as they are. */
  close(): void
  /** Forgets everything without touching Redis, as a killed process would (tests). */
  halt(): void
}

export interface ConnectionLimitsOptions {
  prefix: string
  /** This instance's id, the one its lease is held under. */
  instanceId: string
  /** How long after the last renewal an instance's lease lapses: the extra life of a count key. */
  instanceTtlMs: number
  maxPerUser: number
  maxPerAddress: number
  handshakesPerMinute: number
  /** How soon counts that could not be written (Redis down) are tried again. */
  repairIntervalMs: number
  logger: Logger
}

const HANDSHAKE_WINDOW_MS = 60_000
/** No token lives longer than the API's ACCESS_TOKEN_TTL_S maximum (7 days); a count key need not either. */
const MAX_KEY_TTL_MS = 8 * 24 * 3600_000
const DEFAULT_KEY_TTL_MS = 24 * 3600_000

// Sets each hash's field for this instance to its count (deleting it at 0) and makes the hash live at
// least as long as asked, never shorter than another instance asked.
const WRITE_COUNTS = `
local function store(key, instance, count, ttl)
  if count > 0 then
    redis.call('HSET', key, instance, count)
    if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  else
    redis.call('HDEL', key, instance)
  end
end
`

/** KEYS: user hash, address hash, the instance leases. ARGV: see admit(). Returns 0, or 1/2 for the limit that is reached. */
const ADMIT_CONNECTION = `${WRITE_COUNTS}${REDIS_NOW_MS}
local instance = ARGV[1]
local now = now_ms()
local function others(key)
  local total = 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    if fields[i] ~= instance then
      local expires = redis.call('ZSCORE', KEYS[3], fields[i])
      if expires ~= false and tonumber(expires) >= now then
        total = total + tonumber(fields[i + 1])
      else
        redis.call('HDEL', key, fields[i])
      end
    end
  end
  return total
end
if others(KEYS[1]) + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return 1 end
if others(KEYS[2]) + tonumber(ARGV[3]) > tonumber(ARGV[5]) then return 2 end
store(KEYS[1], instance, tonumber(ARGV[2]), tonumber(ARGV[6]))
store(KEYS[2], instance, tonumber(ARGV[3]), tonumber(ARGV[6]))
return 0
`

/** KEYS: the hashes. ARGV: instance id, then count and TTL per key. */
const STORE_COUNTS = `${WRITE_COUNTS}
for i, key in ipairs(KEYS) do
  store(key, ARGV[1], tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]))
end
return 0
`

/** KEYS: the address's window. ARGV: window length. Returns the attempts in the window and the ms it has left. */
const COUNT_HANDSHAKE = `
local attempts = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return { attempts, left }
`

interface LimitScripts {
  sdAdmitConnection(...args: Array<string | number>): Promise<number>
  sdStoreConnectionCounts(numberOfKeys: number, ...args: Array<string | number>): Promise<number>
  sdCountHandshake(key: string, windowMs: number): Promise<[number, number]>
}

/** This instance's count for one key, and how long the key must live for the connections it counts. */
interface Tally {
  readonly key: string
  count: number
  keepUntil: number
  /** The last write failed: the repair timer writes it again. */
  dirty: boolean
}

/** Keys written again at once by rewriteAll(), per script call. */
const REWRITE_CHUNK = 500

/**
 * One admitted connection's slot: the two tallies it counts in, given back once. A class, not a closure:
 * one exists per open connection (see dashboard-connection.ts on memory per connection).
 */
class Slot implements ConnectionLease {
  #released = false

  constructor(
    private readonly owner: { giveBack(user: Tally, from: Tally): void; extend(user: Tally, from: Tally, tokenExpiresAt: number): void },
    private readonly user: Tally,
    private readonly from: Tally,
  ) {}

  release(): void {
    if (this.#released) return
    this.#released = true
    this.owner.giveBack(this.user, this.from)
  }

  extend(tokenExpiresAt: number): void {
    if (!this.#released) this.owner.extend(this.user, this.from, tokenExpiresAt)
  }
}

export function connectionLimitKeys(prefix: string) {
  return {
    user: (userId: number) => `${prefix}:limits:connections:user:${userId}`,
    address: (address: string) => `${prefix}:limits:connections:address:${address}`,
    handshakes: (address: string) => `${prefix}:limits:handshakes:${address}`,
  }
}

export function createConnectionLimits(redis: Redis, options: ConnectionLimitsOptions): ConnectionLimits {
  const { instanceId, logger } = options
  const keys = connectionLimitKeys(options.prefix)
  const leasesKey = instanceLeasesKey(options.prefix)
  redis.defineCommand('sdAdmitConnection', { numberOfKeys: 3, lua: ADMIT_CONNECTION })
  redis.defineCommand('sdStoreConnectionCounts', { lua: STORE_COUNTS })
  redis.defineCommand('sdCountHandshake', { numberOfKeys: 1, lua: COUNT_HANDSHAKE })
  const scripts = redis as unknown as LimitScripts

  const tallies = new Map<string, Tally>()
  /** Per key, the end of the last operation queued on it. */
  const queues = new Map<string, Promise<void>>()
  /** Keys whose last write failed; the repair timer runs only while there are some. */
  const dirty = new Set<string>()
  let repairTimer: NodeJS.Timeout | undefined
  let halted = false
  let unreachable = false

  const tallyOf = (key: string): Tally => {
    let tally = tallies.get(key)
    if (!tally) tallies.set(key, (tally = { key, count: 0, keepUntil: 0, dirty: false }))
    return tally
  }
  const forgetIfIdle = (key: string) => {
    const tally = tallies.get(key)
    if (tally && tally.count === 0 && !tally.dirty) tallies.delete(key)
  }
  const markDirty = (tally: Tally, isDirty: boolean) => {
    tally.dirty = isDirty
    if (!isDirty) return void dirty.delete(tally.key)
    dirty.add(tally.key)
    armRepair()
  }
  function armRepair(): void {
    if (repairTimer || halted) return
    repairTimer = setTimeout(() => {
      repairTimer = undefined
      if (dirty.size === 0) return
      if (redisDown()) return armRepair()
      void store([...dirty])
    }, options.repairIntervalMs)
    repairTimer.unref()
  }
  const ttlOf = (tally: Tally) => Math.max(1, tally.keepUntil - Date.now())

  /** Runs `operation` once every earlier operation on any of `onKeys` has settled. */
  function serialized<T>(onKeys: readonly string[], operation: () => Promise<T>): Promise<T> {
    const run = Promise.all(onKeys.map((key) => queues.get(key))).then(operation)
    const settled = run.then(
      () => undefined,
      () => undefined,
    )
    for (const key of onKeys) {
      queues.set(key, settled)
      void settled.then(() => {
        if (queues.get(key) === settled) queues.delete(key)
      })
    }
    return run
  }

  /** Whether to skip Redis at once: it is known to be down (a command would wait for a reconnect). */
  const redisDown = () => redis.status === 'reconnecting' || redis.status === 'close' || redis.status === 'end'

  const failedOpen = (error: unknown, what: string) => {
    // One warning per outage, not one per handshake.
    if (!unreachable) logger.warn({ err: error }, `connection limits: Redis unreachable, ${what} not enforced until it answers`)
    unreachable = true
  }
  const answered = () => {
    if (unreachable) logger.info('connection limits: Redis answers again')
    unreachable = false
  }

  /** Writes this instance's counts for `onKeys` as they are now. */
  const store = (onKeys: readonly string[]) =>
    serialized(onKeys, async () => {
      if (halted) return
      const current = onKeys.map((key) => tallyOf(key))
      try {
        if (redisDown()) throw new Error(`redis is ${redis.status}`)
        await scripts.sdStoreConnectionCounts(onKeys.length, ...onKeys, instanceId, ...current.flatMap((tally) => [tally.count, ttlOf(tally)]))
        answered()
        for (const tally of current) markDirty(tally, false)
      } catch (error) {
        failedOpen(error, 'connection counts')
        for (const tally of current) markDirty(tally, true)
      }
      for (const key of onKeys) forgetIfIdle(key)
    })

  /** How long a key counting a connection whose token expires at `tokenExpiresAt` (seconds, if any) must live. */
  const keepUntilFor = (tokenExpiresAt: number | undefined) => {
    const untilMs = tokenExpiresAt === undefined ? Date.now() + DEFAULT_KEY_TTL_MS : tokenExpiresAt * 1000
    return Math.min(untilMs, Date.now() + MAX_KEY_TTL_MS) + options.instanceTtlMs
  }

  const owner = {
    giveBack(user: Tally, from: Tally) {
      if (halted) return
      user.count -= 1
      from.count -= 1
      void store([user.key, from.key])
    },
    // A renewed token: the keys live at least until it expires (one write, only when that is later).
    extend(user: Tally, from: Tally, tokenExpiresAt: number) {
      if (halted) return
      const keepUntil = keepUntilFor(tokenExpiresAt)
      const longer = [user, from].filter((tally) => tally.keepUntil < keepUntil)
      if (longer.length === 0) return
      for (const tally of longer) tally.keepUntil = keepUntil
      void store(longer.map((tally) => tally.key))
    },
  }

  const tooMany = (scope: 'user' | 'address'): { refusal: LimitRefusal } => ({
    refusal: {
      status: 429,
      code: 'too_many_connections',
      message:
        scope === 'user'
          ? `At most ${options.maxPerUser} dashboard connections per user; close one first`
          : `At most ${options.maxPerAddress} dashboard connections per client address; close one first`,
    },
  })

  return {
    async attempt(address) {
      if (halted) return null
      let attempts: number
      let leftMs: number
      try {
        if (redisDown()) throw new Error(`redis is ${redis.status}`)
        ;[attempts, leftMs] = await scripts.sdCountHandshake(keys.handshakes(address), HANDSHAKE_WINDOW_MS)
        answered()
      } catch (error) {
        failedOpen(error, 'handshake rate')
        return null
      }
      if (attempts <= options.handshakesPerMinute) return null
      return {
        status: 429,
        code: 'rate_limited',
        message: `At most ${options.handshakesPerMinute} dashboard connection attempts per minute from one address; retry later`,
        retryAfterSeconds: Math.max(1, Math.ceil(leftMs / 1000)),
      }
    },

    admit(userId, address, tokenExpiresAt) {
      const slotKeys = [keys.user(userId), keys.address(address)] as const
      return serialized(slotKeys, async () => {
        const [user, from] = slotKeys.map((key) => tallyOf(key)) as [Tally, Tally]
        const keepUntil = keepUntilFor(tokenExpiresAt)
        let verdict = 0
        let counted = true
        try {
          if (redisDown()) throw new Error(`redis is ${redis.status}`)
          verdict = await scripts.sdAdmitConnection(
            ...slotKeys,
            leasesKey,
            instanceId,
            user.count + 1,
            from.count + 1,
            options.maxPerUser,
            options.maxPerAddress,
            Math.max(1, Math.max(keepUntil, user.keepUntil, from.keepUntil) - Date.now()),
          )
          answered()
        } catch (error) {
          failedOpen(error, 'connection limits')
          counted = false
        }
        if (verdict !== 0) {
          for (const key of slotKeys) forgetIfIdle(key)
          return tooMany(verdict === 1 ? 'user' : 'address')
        }
        for (const tally of [user, from]) {
          tally.count += 1
          tally.keepUntil = Math.max(tally.keepUntil, keepUntil)
          if (!counted) markDirty(tally, true)
        }
        return { lease: new Slot(owner, user, from) }
      })
    },

    async settled() {
      await Promise.all(queues.values())
    },

    async rewriteAll() {
      const all = [...tallies.keys()]
      for (let start = 0; start < all.length; start += REWRITE_CHUNK) await store(all.slice(start, start + REWRITE_CHUNK))
    },

    close() {
      clearTimeout(repairTimer)
    },

    halt() {
      halted = true
      clearTimeout(repairTimer)
      tallies.clear()
      dirty.clear()
    },
  }
}
