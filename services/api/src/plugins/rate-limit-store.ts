// Where the sign-in limits count when the API has Redis: one key per limiter and client, named on purpose,
// `<REDIS_PREFIX>:rate-limit:<limiter key>`, the limiter key being what its keyGenerator returns, e.g.
// `sd:rate-limit:login-ip:203.0.113.7`, `sd:rate-limit:login-account:ana@example.com`,
// `sd:rate-limit:refresh-ip:203.0.113.7`. @fastify/rate-limit's own Redis store puts a limiter's route
// (method and URL) in its keys, and a limiter made with createRateLimit has none: its keys came out as
// `sd:rate-limit:undefinedundefined-login-ip:...` (the rename costs at most one fresh window, 15 minutes, at
// the deploy that makes it). This is the plugin's documented `store` option.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'

// A fixed window per key, as the plugin's own store counts: the first hit starts the key's expiry and
// later hits read what is left of it. One script, so that a counter is never left without an expiry.
const HIT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {hits, tonumber(ARGV[1])}
end
return {hits, redis.call('PTTL', KEYS[1])}`

type LimitRedis = Redis & { sdRateLimitHit(key: string, windowMs: number): Promise<[number, number]> }

/** A store class for the plugin's `store` option, counting in `redis` under `namespace` + limiter key. */
export function namedRedisLimitStore(redis: Redis, namespace: string): FastifyRateLimitStoreCtor {
  // Sent once, then run by its hash (EVALSHA), as the service's other scripts are.
  redis.defineCommand('sdRateLimitHit', { numberOfKeys: 1, lua: HIT })
  const scripts = redis as LimitRedis
  return class NamedRedisLimitStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      scripts.sdRateLimitHit(`${namespace}${key}`, timeWindow).then(
        ([current, ttl]) => callback(null, { current, ttl }),
        (error: Error) => callback(error),
      )
    }

    // A limiter's keys are named by its keyGenerator (`login-ip:...`), not by a route: its counters are the
    // same whichever limiter object (sign-in, password change) counts them.
    child(): FastifyRateLimitStore {
      return this
    }
  }
}
