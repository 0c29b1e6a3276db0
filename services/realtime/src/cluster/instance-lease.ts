// This instance's liveness as the other instances see it: one lease per instance in a Redis sorted set,
// scored by when it lapses (on Redis's clock, so the instances' clocks need not agree), renewed by one
// command per heartbeat whatever the number of schools or connections. The renewal also answers which
// other leases have lapsed (instances presumed dead, whose state someone must clean up) and whether this
// instance's own lease had lapsed (it stalled for longer than the TTL, so others may have cleaned up after it).
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'

export function instanceLeasesKey(prefix: string): string {
  return `${prefix}:instances:leases`
}

/**
 * Lua's view of "now" in milliseconds on Redis's clock. Scripts that call TIME are replicated by their
 * effects (the default since Redis 5), so reading the clock before writing is allowed.
 */
export const REDIS_NOW_MS = `
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
`

/** Most lapsed leases one renewal reports; the next renewal reports the rest. */
const EXPIRED_PER_RENEWAL = 32

/** KEYS: the leases. ARGV: this instance, TTL. Returns { 1 if our lease was missing or lapsed, lapsed others }. */
const RENEW = `${REDIS_NOW_MS}
local now = now_ms()
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local lapsed = 0
if previous == false or tonumber(previous) < now then lapsed = 1 end
return { lapsed, redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, ${EXPIRED_PER_RENEWAL}) }
`

export interface InstanceLeaseListeners {
  /**
   * This instance's lease had lapsed (a stall longer than the TTL, or Redis lost its data): another instance
   * may have removed what it keeps in Redis, which it must now write again. Not called for the first renewal.
   */
  lapsed(): Promise<void> | void
  /** Other instances' leases have lapsed: they are presumed dead. */
  peersExpired(instanceIds: readonly string[]): Promise<void> | void
}

export interface InstanceLease {
  readonly instanceId: string
  readonly key: string
  /** Renews now and runs the listeners; resolves once they have finished (the timer does the same). */
  renewNow(): Promise<void>
  /**
   * Stops renewing (resolves once a renewal in flight has finished) without touching the lease: a leaving
   * instance's presence withdrawal removes it with its entries, and a killed one's lapses (tests stop it so).
   */
  stop(): Promise<void>
}

interface LeaseScripts {
  sdRenewInstanceLease(key: string, instanceId: string, ttlMs: number): Promise<[number, string[]]>
}

export function createInstanceLease(
  redis: Redis,
  options: { prefix: string; instanceId: string; ttlMs: number; heartbeatMs: number; logger: Logger; listeners: InstanceLeaseListeners },
): InstanceLease {
  const { instanceId, ttlMs, logger, listeners } = options
  const key = instanceLeasesKey(options.prefix)
  redis.defineCommand('sdRenewInstanceLease', { numberOfKeys: 1, lua: RENEW })
  const scripts = redis as unknown as LeaseScripts
  let renewed = false
  let stopped = false
  let running: Promise<void> | undefined

  const renewOnce = async () => {
    const [lapsed, expired] = await scripts.sdRenewInstanceLease(key, instanceId, ttlMs)
    const first = !renewed
    renewed = true
    if (stopped) return
    if (lapsed === 1 && !first) {
      logger.warn({ instanceId }, 'this instance lease had lapsed; writing its presence and connection counts again')
      await listeners.lapsed()
    }
    if (expired.length > 0) await listeners.peersExpired(expired)
  }
  // One renewal at a time: a slow one (a claim in progress) is not overlapped by the next tick.
  const renewNow = () =>
    (running ??= renewOnce()
      .catch((error: unknown) => logger.warn({ err: error }, 'instance lease could not be renewed'))
      .finally(() => (running = undefined)))

  void renewNow()
  const timer = setInterval(() => void renewNow(), options.heartbeatMs)
  timer.unref()

  return {
    instanceId,
    key,
    renewNow,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}
