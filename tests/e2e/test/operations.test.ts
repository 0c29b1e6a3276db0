// Operability against the running services: /metrics counters and histograms move by exactly what a
// scripted scenario did, /readyz follows PostgreSQL and Redis, and one correlation id can be followed
// from the HTTP request through the queue to the emitted message.
import t from 'tap'
import { DEFAULT_DATABASE_URL } from '@school/config'
import { startTcpProxy, TEST_REDIS_URL, throughProxy } from '@school/test-support'
import { PlainClient, startSystem } from '@school/test-support/system'
import { pollUntil, waitForLog } from './fault-tolerance.js'

// PostgreSQL and Redis are reached through proxies the test can cut, so that the shared servers stay up.
const database = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL).port || 5432) })
const redis = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(TEST_REDIS_URL).port || 6379) })
t.teardown(() => Promise.all([database.close(), redis.close()]))

const system = await startSystem(t, 'e2e_operations', { redisUrl: throughProxy(TEST_REDIS_URL, redis) })
// Only the services go through the database proxy; the test's own client stays direct.
const databaseUrlOf = (url: string) => throughProxy(url, database)
const dbUrl = (await system.prisma.$queryRaw<Array<{ db: string }>>`SELECT current_database() AS db`)[0]!.db
const serviceDatabaseUrl = databaseUrlOf(`${(process.env.DATABASE_URL || DEFAULT_DATABASE_URL).replace(/\/[^/]*$/, '')}/${dbUrl}`)
await system.restart('api', { env: { DATABASE_URL: serviceDatabaseUrl, LOG_LEVEL: 'info' } })
await system.restart('realtime', { env: { DATABASE_URL: serviceDatabaseUrl, LOG_LEVEL: 'info' } })
const { fixture } = system
const ownerA = await system.login(fixture.ownerA)

/** The value of one series in the Prometheus text format; 0 when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3])
  }
  return 0
}
const scrape = async (url: string) => {
  const response = await fetch(`${url}/metrics`)
  t.match(response.headers.get('content-type'), /^text\/plain/)
  return response.text()
}
const readiness = async (url: string) => {
  const response = await fetch(`${url}/readyz`)
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } }
}
t.test('the counters and histograms move by exactly what the scenario did', async (t) => {
  const client = await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA)
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const [apiBefore, realtimeBefore] = [await scrape(system.api.url), await scrape(system.realtime.url)]
  const invitations = `/api/accounts/schools/${fixture.schoolA.id}/invitations/`
  // Labelled by route pattern, so that ids never multiply the series.
  const invitationRoute = '/api/accounts/schools/:id/invitations'
  for (const email of ['m1@example.com', 'm2@example.com', 'm3@example.com']) {
    const { status } = await system.request('POST', invitations, { token: ownerA, body: { email, role: 'teacher' } })
    t.equal(status, 201)
  }
  t.equal((await system.request('POST', invitations, { token: ownerA, body: { email: 'not-an-email', role: 'teacher' } })).status, 400)
  const { lastEventSeq: lastSeq } = (await system.prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } }))
  await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === lastSeq, 'the counters of the last invitation')
  const [apiAfter, realtimeAfter] = [await scrape(system.api.url), await scrape(system.realtime.url)]
  const delta = (before: string, after: string, name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels)

  t.equal(delta(apiBefore, apiAfter, 'http_requests_total', { method: 'POST', route: invitationRoute, status_code: '201' }), 3, `3 created on ${invitationRoute}`)
  t.equal(delta(apiBefore, apiAfter, 'http_requests_total', { method: 'POST', route: invitationRoute, status_code: '400' }), 1, '1 refused')
  t.equal(delta(apiBefore, apiAfter, 'http_request_duration_seconds_count', { method: 'POST', route: invitationRoute, status_code: '201' }), 3)
  t.ok(delta(apiBefore, apiAfter, 'http_request_duration_seconds_sum', { method: 'POST', route: invitationRoute, status_code: '201' }) > 0)
  t.equal(delta(apiBefore, apiAfter, 'school_events_enqueued_total', { by: 'request' }), 3)
  // The marks of enqueued events wait up to 100 ms for their batch, so the gauge may still count them here.
  t.ok(sample(apiAfter, 'outbox_pending_events') <= 3, 'at most the three new events await their enqueue marks')
  const marked = await pollUntil(() => scrape(system.api.url), (text) => sample(text, 'outbox_pending_events') === 0, 'the enqueue marks')
  t.equal(sample(marked, 'outbox_pending_events'), 0, 'then none is pending')
  t.equal(sample(apiAfter, 'dependency_up', { dependency: 'database' }), 1)
  t.equal(sample(apiAfter, 'dependency_up', { dependency: 'redis' }), 1)

  t.equal(delta(realtimeBefore, realtimeAfter, 'school_events_applied_total'), 3)
  t.equal(delta(realtimeBefore, realtimeAfter, 'school_event_lag_seconds_count'), 3)
  t.equal(delta(realtimeBefore, realtimeAfter, 'dashboard_broadcasts_total', { type: 'activity_new' }), 3)
  t.equal(delta(realtimeBefore, realtimeAfter, 'dashboard_broadcasts_total', { type: 'invitation_status_update' }), 3)
  t.equal(delta(realtimeBefore, realtimeAfter, 'dashboard_messages_delivered_total', { type: 'activity_new', transport: 'websocket' }), 3)
  const metricsMessages = client.inbox.messages.filter((m) => m.type === 'metrics_update').length - 1
  t.equal(delta(realtimeBefore, realtimeAfter, 'dashboard_messages_delivered_total', { type: 'metrics_update', transport: 'websocket' }), metricsMessages, 'every metrics_update the client received, coalesced or not')
  t.equal(sample(realtimeAfter, 'dashboard_connections', { transport: 'websocket' }), 1)
  t.equal(sample(realtimeAfter, 'dashboard_schools_watched'), 1)
  t.equal(sample(realtimeAfter, 'school_events_queue_jobs', { state: 'failed' }), 0)
  t.ok(sample(realtimeAfter, 'nodejs_eventloop_lag_seconds', { service: 'realtime' }) >= 0)
  t.ok(sample(realtimeAfter, 'process_resident_memory_bytes', { service: 'realtime' }) > 0)
})

t.test('one correlation id follows an event from the HTTP request to the emitted message', async (t) => {
  const client = await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA)
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const correlationId = `trace-${Date.now()}`
  const response = await fetch(`${system.origin}/api/accounts/schools/${fixture.schoolA.id}/invitations/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ownerA}`, 'content-type': 'application/json', 'x-request-id': correlationId },
    body: JSON.stringify({ email: 'traced@example.com', role: 'teacher' }),
  })
  t.equal(response.status, 201)
  const activity = await client.inbox.waitFor((m) => m.type === 'activity_new' && (m.data as { summary: string }).summary.includes('traced@example.com'), 'the traced activity')
  const lines = (logs: string[]) => logs.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })
  // The API writes its log asynchronously, and its request line once the response has gone out.
  await waitForLog(system.api, ['"msg":"request completed"', `"reqId":"${correlationId}"`], 5000)
  const apiLines = lines(system.api.logs).filter((line) => line.reqId === correlationId)
  t.match(apiLines.find((line) => line.msg === 'request completed'), { req: { method: 'POST' }, res: { statusCode: 201 } }, 'the API logged the request under the id')
  const stored = await system.prisma.domainEvent.findUniqueOrThrow({ where: { id: activity.eventId! } })
  t.equal(stored.correlationId, correlationId, 'the event log keeps it')
  const emitted = JSON.parse(await waitForLog(system.realtime, ['"msg":"event emitted"', `"correlationId":"${correlationId}"`], 5000)) as unknown
  t.match(emitted, { service: 'realtime', eventId: activity.eventId, seq: activity.seq }, 'the realtime service logged the emit under the same id')
  const secrets = [...system.api.logs, ...system.realtime.logs].filter((line) => line.includes(ownerA) || line.includes('fixture-password'))
  t.same(secrets, [], 'no token or password in any log line')
})

t.test('/readyz turns unready when PostgreSQL or Redis is unreachable, and ready again after', async (t) => {
  for (const url of [system.api.url, system.realtime.url]) {
    t.match(await readiness(url), { status: 200, body: { status: 'ready', checks: { database: 'ok', redis: 'ok' } } })
  }
  database.cut()
  for (const url of [system.api.url, system.realtime.url]) {
    const down = await pollUntil(() => readiness(url), (result) => result.status === 503, `${url}/readyz unready`, 15_000)
    t.equal(down.status, 503, `${url}: unready without PostgreSQL`)
    t.not(down.body.checks.database, 'ok')
    t.equal(down.body.checks.redis, 'ok')
  }
  t.equal((await fetch(`${system.api.url}/healthz`)).status, 200, 'still live: nothing to restart')
  database.restore()
  for (const url of [system.api.url, system.realtime.url]) t.equal((await pollUntil(() => readiness(url), (result) => result.status === 200, `${url}/readyz ready`, 15_000)).status, 200, `${url}: ready again`)

  redis.cut()
  for (const url of [system.api.url, system.realtime.url]) {
    const down = await pollUntil(() => readiness(url), (result) => result.status === 503, `${url}/readyz unready`, 15_000)
    t.equal(down.status, 503, `${url}: unready without Redis`)
    t.not(down.body.checks.redis, 'ok')
  }
  t.equal(sample(await scrape(system.api.url), 'dependency_up', { dependency: 'redis' }), 0)
  redis.restore()
  for (const url of [system.api.url, system.realtime.url]) t.equal((await pollUntil(() => readiness(url), (result) => result.status === 200, `${url}/readyz ready`, 15_000)).status, 200, `${url}: ready again`)
})
