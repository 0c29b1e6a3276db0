// The connection limits against a real Redis, with several "instances" (limit sets with their own ids)
// sharing it: counts hold across instances, a dead instance stops counting when its lease lapses,
// handshakes are counted per address and minute, and an unreachable Redis lets connections in.
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { deleteRedisKeys, pollUntil, startTcpProxy, TEST_REDIS_URL, throughProxy, uniqueRedisPrefix } from '@school/test-support'
import { connectionLimitKeys, createConnectionLimits, type ConnectionLimits, type ConnectionLimitsOptions } from '../../src/guards/connection-limits.js'
import { createInstanceLease, instanceLeasesKey } from '../../src/cluster/instance-lease.js'
import { loadConfig, realtimeConfigSchema } from '@school/config'
import { createLogger } from '../../src/logger.js'

const prefix = uniqueRedisPrefix('rt_limits')
t.teardown(() => deleteRedisKeys(prefix))
const logger = createLogger(loadConfig(realtimeConfigSchema, { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' }), { pretty: false })
const keys = connectionLimitKeys(prefix)
const observer = new Redis(TEST_REDIS_URL)
t.teardown(() => observer.quit())
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600

/** One instance's limits and lease on its own Redis connection, closed at teardown. */
function instance(
  t: Test,
  instanceId: string,
  options: Partial<ConnectionLimitsOptions> = {},
  redisUrl = TEST_REDIS_URL,
): ConnectionLimits & { redis: Redis; leaseRenewed: Promise<void>; stopLease(): Promise<void> } {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  const limits = createConnectionLimits(redis, {
    prefix,
    instanceId,
    instanceTtlMs: 15_000,
    maxPerUser: 3,
    maxPerAddress: 100,
    handshakesPerMinute: 1000,
    repairIntervalMs: 50,
    logger,
    ...options,
  })
  const ttlMs = options.instanceTtlMs ?? 15_000
  const lease = createInstanceLease(redis, {
    prefix,
    instanceId,
    ttlMs,
    heartbeatMs: Math.max(50, Math.floor(ttlMs / 3)),
    logger,
    listeners: { lapsed: () => limits.rewriteAll(), peersExpired: () => {} },
  })
  t.teardown(async () => {
    await lease.stop()
    limits.close()
    redis.disconnect()
  })
  return Object.assign(limits, { redis, leaseRenewed: lease.renewNow(), stopLease: () => lease.stop() })
}

type Admitted = { lease: { release(): void } }
const admitted = async (result: Promise<Admitted | { refusal: unknown }>): Promise<Admitted> => {
  const value = await result
  if (!('lease' in value)) throw new Error(`refused: ${JSON.stringify(value.refusal)}`)
  return value
}

t.test('connections per user are counted over every instance; a released slot is free again', async (t) => {
  const a = instance(t, 'inst-a1')
  const b = instance(t, 'inst-b1')
  await Promise.all([a.leaseRenewed, b.leaseRenewed])
  const first = await admitted(a.admit(7, '10.0.0.1', inAnHour()))
  await admitted(a.admit(7, '10.0.0.2', inAnHour()))
  await admitted(b.admit(7, '10.0.0.3', inAnHour()))
  t.same(await observer.hgetall(keys.user(7)), { 'inst-a1': '2', 'inst-b1': '1' }, "one field per instance with that instance's count")
  const refused = { refusal: { status: 429, code: 'too_many_connections', message: 'At most 3 dashboard connections per user; close one first' } }
  t.same(await b.admit(7, '10.0.0.4', inAnHour()), refused, 'the fourth, on either instance')
  t.same(await a.admit(7, '10.0.0.4', inAnHour()), refused)
  await admitted(b.admit(8, '10.0.0.4', inAnHour()))
  first.lease.release()
  first.lease.release()
  await a.settled()
  t.same(await observer.hgetall(keys.user(7)), { 'inst-a1': '1', 'inst-b1': '1' }, 'released once, however often release() is called')
  await admitted(b.admit(7, '10.0.0.4', inAnHour()))
})

t.test('connections per address are counted whoever the users are', async (t) => {
  const a = instance(t, 'inst-a2', { maxPerAddress: 2 })
  const b = instance(t, 'inst-b2', { maxPerAddress: 2 })
  await Promise.all([a.leaseRenewed, b.leaseRenewed])
  await admitted(a.admit(21, '198.51.100.7', inAnHour()))
  await admitted(b.admit(22, '198.51.100.7', inAnHour()))
  t.same(await a.admit(23, '198.51.100.7', inAnHour()), {
    refusal: { status: 429, code: 'too_many_connections', message: 'At most 2 dashboard connections per client address; close one first' },
  })
  t.same(await observer.hgetall(keys.user(23)), {}, 'a refused connection is not counted for its user either')
  await admitted(a.admit(23, '198.51.100.8', inAnHour()))
})

t.test("a dead instance's connections stop counting when its lease lapses, and are then removed", async (t) => {
  const ttlMs = 300
  const dying = instance(t, 'inst-dying', { instanceTtlMs: ttlMs })
  const survivor = instance(t, 'inst-survivor', { instanceTtlMs: ttlMs })
  await Promise.all([dying.leaseRenewed, survivor.leaseRenewed])
  for (let i = 0; i < 3; i++) await admitted(dying.admit(31, `10.3.0.${i}`, inAnHour()))
  t.match(await survivor.admit(31, '10.3.0.9', inAnHour()), { refusal: { code: 'too_many_connections' } })
  // Killed: it never releases its slots and stops renewing its lease.
  await dying.stopLease()
  dying.halt()
  const stoppedAt = Date.now()
  // Redis's clock, not an event of ours, ends the lease: try until the dead instance's count is ignored.
  await pollUntil(
    () => survivor.admit(31, '10.3.0.9', inAnHour()),
    (result) => 'lease' in result,
    'a connection once the lease has lapsed',
  )
  t.ok(Date.now() - stoppedAt >= ttlMs - 100, `not before the lease lapsed (${Date.now() - stoppedAt} ms)`)
  t.same(await observer.hgetall(keys.user(31)), { 'inst-survivor': '1' }, "the dead instance's field was deleted by that check")
  t.equal(await observer.zscore(instanceLeasesKey(prefix), 'inst-survivor') !== null, true, "the survivor's lease is there")
})

t.test('an instance whose lease lapsed while it stalled writes its counts again when it renews', async (t) => {
  const stalling = instance(t, 'inst-stall', { instanceTtlMs: 60_000 })
  const other = instance(t, 'inst-other', { instanceTtlMs: 60_000 })
  await Promise.all([stalling.leaseRenewed, other.leaseRenewed])
  for (let i = 0; i < 3; i++) await admitted(stalling.admit(71, `10.7.0.${i}`, inAnHour()))
  // As another instance claiming it would: its lease is gone and its counts were deleted.
  await observer.zrem(instanceLeasesKey(prefix), 'inst-stall')
  await observer.del(keys.user(71))
  await admitted(other.admit(71, '10.7.0.9', inAnHour()))
  t.same(await observer.hgetall(keys.user(71)), { 'inst-other': '1' }, 'while the lease is gone, only the other instance counts')

  const stallingLease = createInstanceLease(stalling.redis, {
    prefix,
    instanceId: 'inst-stall',
    ttlMs: 60_000,
    heartbeatMs: 60_000,
    logger,
    listeners: { lapsed: () => stalling.rewriteAll(), peersExpired: () => {} },
  })
  t.teardown(() => stallingLease.stop())
  // Its first renewal here is a new object's first: a second one reports the lapse.
  await stallingLease.renewNow()
  await observer.zrem(instanceLeasesKey(prefix), 'inst-stall')
  await stallingLease.renewNow()
  t.same(await observer.hgetall(keys.user(71)), { 'inst-other': '1', 'inst-stall': '3' }, 'the stalled instance wrote its count again')
  t.match(await other.admit(71, '10.7.0.10', inAnHour()), { refusal: { code: 'too_many_connections' } }, 'and it counts again')
})

t.test('count keys live as long as the longest token they count, plus the lease TTL', async (t) => {
  const a = instance(t, 'inst-a4', { instanceTtlMs: 15_000 })
  const now = Math.floor(Date.now() / 1000)
  await admitted(a.admit(41, '10.4.0.1', now + 600))
  const short = await observer.pttl(keys.user(41))
  t.ok(short > 600_000 && short <= 615_000, `${short} ms for a token with 10 minutes left`)
  await admitted(a.admit(41, '10.4.0.1', now + 7200))
  t.ok((await observer.pttl(keys.user(41))) > 7_200_000, 'extended by a longer-lived token')
  await admitted(a.admit(41, '10.4.0.1', now + 60))
  t.ok((await observer.pttl(keys.user(41))) > 7_200_000, 'never shortened')
  t.ok((await observer.pttl(keys.address('10.4.0.1'))) > 7_200_000, 'the same for the address')
})

t.test('handshake attempts are counted per address and minute; the refusal says when to retry', async (t) => {
  const a = instance(t, 'inst-a5', { handshakesPerMinute: 3 })
  const b = instance(t, 'inst-b5', { handshakesPerMinute: 3 })
  t.same(await Promise.all([a.attempt('192.0.2.1'), b.attempt('192.0.2.1'), a.attempt('192.0.2.1')]), [null, null, null])
  const refusal = await b.attempt('192.0.2.1')
  t.match(refusal, {
    status: 429,
    code: 'rate_limited',
    message: 'At most 3 dashboard connection attempts per minute from one address; retry later',
  })
  t.ok(refusal!.retryAfterSeconds! >= 59 && refusal!.retryAfterSeconds! <= 60, `Retry-After ${refusal!.retryAfterSeconds} s`)
  t.equal(await a.attempt('192.0.2.2'), null, 'another address has its own minute')
  const window = await observer.pttl(keys.handshakes('192.0.2.1'))
  t.ok(window > 0 && window <= 60_000, 'the window expires by itself')
})

t.test('Redis unreachable: connections are let in and counted locally, then written once Redis answers', async (t) => {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(TEST_REDIS_URL).port || 6379) })
  t.teardown(() => proxy.close())
  const limits = instance(t, 'inst-a6', { maxPerUser: 1, handshakesPerMinute: 1 }, throughProxy(TEST_REDIS_URL, proxy))
  if (limits.redis.status !== 'ready') await new Promise((resolve) => limits.redis.once('ready', resolve))
  const counted = await admitted(limits.admit(61, '10.6.0.1', inAnHour()))
  t.equal(await limits.attempt('10.6.0.1'), null)

  // (events.once would reject on the connection's 'error' event, which comes first.)
  const reconnecting = new Promise((resolve) => limits.redis.once('reconnecting', resolve))
  proxy.cut()
  await reconnecting
  const uncounted = await admitted(limits.admit(61, '10.6.0.1', inAnHour()))
  t.pass('a second connection of a user allowed one is let in: the limits fail open')
  t.equal(await limits.attempt('10.6.0.1'), null, 'handshakes too')

  proxy.restore()
  await pollUntil(() => observer.hget(keys.user(61), 'inst-a6'), (count) => count === '2', 'the local count to be written')
  t.match(await limits.admit(61, '10.6.0.1', inAnHour()), { refusal: { code: 'too_many_connections' } }, 'enforced again')
  counted.lease.release()
  uncounted.lease.release()
  await limits.settled()
  t.same(await observer.hgetall(keys.user(61)), {}, 'both released')
})
