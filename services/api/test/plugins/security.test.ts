// The API's outer defences: security headers, CORS limited to the configured origins, sign-in limits per
// account and per IP that hold across instances (Redis), and a per-school hourly invitation quota.
import t from 'tap'
import { Redis } from 'ioredis'
import { deleteRedisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from '@school/test-support'
import { buildTestApp } from '../helper.js'

t.test('every response carries the security headers', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(response.headers['x-content-type-options'], 'nosniff')
  t.equal(response.headers['x-frame-options'], 'SAMEORIGIN')
  t.match(response.headers['strict-transport-security'], /max-age=\d+/)
  t.equal(response.headers['referrer-policy'], 'no-referrer')
  t.equal(response.headers['x-powered-by'], undefined)
})

t.test('CORS answers the configured origins only', async (t) => {
  const { app } = await buildTestApp(t, { env: { CORS_ORIGINS: 'https://admin.school.test, https://other.school.test' } })
  const preflight = (origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/api/auth/login',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
  const allowed = await preflight('https://admin.school.test')
  t.equal(allowed.statusCode, 204)
  t.equal(allowed.headers['access-control-allow-origin'], 'https://admin.school.test')
  t.match(allowed.headers['access-control-allow-methods'], /POST/)
  const refused = await preflight('https://evil.test')
  t.equal(refused.headers['access-control-allow-origin'], undefined, 'no CORS grant for an unknown origin')
  const simple = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.test' } })
  t.equal(simple.headers['access-control-allow-origin'], undefined)
})

t.test('CORS defaults to the public origin', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'http://school.test' } })
  t.equal(response.headers['access-control-allow-origin'], 'http://school.test')
})

t.test('sign-in attempts are limited per account, across API instances, even with the right password', async (t) => {
  const redis = new Redis(TEST_REDIS_URL)
  const prefix = uniqueRedisPrefix('api_limits')
  t.teardown(async () => {
    await deleteRedisKeys(prefix)
    redis.disconnect()
  })
  const env = { REDIS_PREFIX: prefix, LOGIN_MAX_PER_ACCOUNT: '3', LOGIN_MAX_PER_IP: '1000' }
  const one = await buildTestApp(t, { env, redis })
  const two = await buildTestApp(t, { env, redis })
  const login = (app: typeof one.app, email: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
  const { ownerA, adminA } = one.fixture
  t.equal((await login(one.app, ownerA.email, 'wrong')).statusCode, 401)
  t.equal((await login(two.app, ownerA.email.toUpperCase(), 'wrong')).statusCode, 401, 'the same account, however it is written')
  t.equal((await login(one.app, ownerA.email, ownerA.password)).statusCode, 200)
  const limited = await login(two.app, ownerA.email, ownerA.password)
  t.equal(limited.statusCode, 429, 'the fourth attempt, on the other instance, is refused')
  t.equal(limited.json().code, 'rate_limited')
  t.match(limited.json().message, /^Too many attempts; try again in \d+ minutes?/)
  t.ok(Number(limited.headers['retry-after']) > 0, 'with Retry-After')
  t.equal((await login(one.app, adminA.email, adminA.password)).statusCode, 200, 'another account is not affected')
})

t.test('the sign-in limits count in Redis under keys named for them: login-ip, login-account and refresh-ip', async (t) => {
  const redis = new Redis(TEST_REDIS_URL)
  const prefix = uniqueRedisPrefix('api_limit_keys')
  t.teardown(async () => {
    await deleteRedisKeys(prefix)
    redis.disconnect()
  })
  const { app } = await buildTestApp(t, { env: { REDIS_PREFIX: prefix }, redis })
  const remoteAddress = '203.0.113.9'
  const login = await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress, payload: { email: ' Nobody@X.test', password: 'x'.repeat(12) } })
  t.equal(login.statusCode, 401)
  const refresh = await app.inject({ method: 'POST', url: '/api/auth/refresh', remoteAddress, payload: { refreshToken: 'A'.repeat(43) } })
  t.equal(refresh.statusCode, 401)
  const keys = (await redis.keys(`${prefix}:rate-limit:*`)).sort()
  t.same(keys, [
    `${prefix}:rate-limit:login-account:nobody@x.test`,
    `${prefix}:rate-limit:login-ip:203.0.113.9`,
    `${prefix}:rate-limit:refresh-ip:203.0.113.9`,
  ])
  for (const key of keys) {
    t.equal(await redis.get(key), '1', `${key}: one attempt`)
    const ttl = await redis.pttl(key)
    t.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000, `${key}: expires with its 15-minute window`)
  }
})

t.test('sign-in attempts are limited per client IP across accounts', async (t) => {
  const { app } = await buildTestApp(t, { env: { LOGIN_MAX_PER_IP: '4', LOGIN_MAX_PER_ACCOUNT: '100' } })
  const statuses = []
  for (let i = 0; i < 5; i++) {
    statuses.push((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: `nobody${i}@x.test`, password: 'x'.repeat(12) } })).statusCode)
  }
  t.same(statuses, [401, 401, 401, 401, 429])
})

t.test('behind a trusted proxy each forwarded client has its own per-IP limit; an untrusted peer cannot choose its address', async (t) => {
  const attempts = async (app: Awaited<ReturnType<typeof buildTestApp>>['app'], remoteAddress: string, forwardedFor: string) => {
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress,
        headers: { 'x-forwarded-for': forwardedFor },
        payload: { email: `nobody${i}@x.test`, password: 'x'.repeat(12) },
      })
      statuses.push(response.statusCode)
    }
    return statuses
  }
  const env = { LOGIN_MAX_PER_IP: '2', LOGIN_MAX_PER_ACCOUNT: '100' }
  const behindProxy = await buildTestApp(t, { env: { ...env, TRUST_PROXY: '10.0.0.5' } })
  t.same(await attempts(behindProxy.app, '10.0.0.5', '203.0.113.1'), [401, 401, 429], 'the first client, through the proxy')
  t.same(await attempts(behindProxy.app, '10.0.0.5', '203.0.113.2'), [401, 401, 429], 'a second client has a limit of its own')
  t.same(await attempts(behindProxy.app, '10.0.0.5', '198.51.100.7, 203.0.113.1'), [429, 429, 429], 'the proxy appends the real address: a forged first entry does not help')
  t.same(await attempts(behindProxy.app, '10.0.0.9', '203.0.113.3'), [401, 401, 429], 'a peer that is not the proxy is itself the client')
  t.same(await attempts(behindProxy.app, '10.0.0.9', '203.0.113.4'), [429, 429, 429], '...whatever it forwards')

  const direct = await buildTestApp(t, { env })
  t.same(await attempts(direct.app, '10.0.0.5', '203.0.113.1'), [401, 401, 429], 'without TRUST_PROXY the peer is the client')
  t.same(await attempts(direct.app, '10.0.0.5', '203.0.113.2'), [429, 429, 429], 'so forwarded addresses share its limit')
})

t.test('a school can send a bounded number of invitations per hour; refusals change nothing', async (t) => {
  const { app, fixture, prisma, authFor } = await buildTestApp(t, { env: { INVITATIONS_PER_SCHOOL_PER_HOUR: '2' } })
  const invite = (schoolId: number, email: string, user = fixture.ownerA) =>
    app.inject({ method: 'POST', url: `/api/accounts/schools/${schoolId}/invitations/`, headers: authFor(user), payload: { email, role: 'teacher' } })
  t.equal((await invite(fixture.schoolA.id, 'q1@example.com')).statusCode, 201)
  t.equal((await invite(fixture.schoolA.id, 'q2@example.com')).statusCode, 201)
  const eventsBefore = await prisma.domainEvent.count()
  const refused = await invite(fixture.schoolA.id, 'q3@example.com')
  t.equal(refused.statusCode, 429)
  t.same(refused.json(), { code: 'invitation_quota_exceeded', message: 'This school has sent 2 invitations in the last hour; try again later' })
  t.equal(await prisma.domainEvent.count(), eventsBefore, 'no event for a refused invitation')
  t.equal(await prisma.invitation.count({ where: { email: 'q3@example.com' } }), 0)
  t.equal((await invite(fixture.schoolB.id, 'q3@example.com', fixture.ownerB)).statusCode, 201, 'another school has its own quota')
})
