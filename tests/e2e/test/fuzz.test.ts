// Random input against the running services for a bounded time (fast-check): frames of every shape on the
// plain WebSocket and Socket.IO, random JSON and non-JSON bodies on every write route. Nothing may crash,
// nothing may answer 5xx, every frame gets an answer, and memory stays flat.
import t from 'tap'
import fc from 'fast-check'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import { residentBytes as rss } from './hostile-checks.js'

const system = await startSystem(t, 'e2e_fuzz', { realtimeEnv: { CLIENT_MESSAGES_PER_SECOND: '10000' } })
const { fixture } = system
const ownerA = await system.login(fixture.ownerA)
const schoolA = fixture.schoolA.id
const RUN_MS = Number(process.env.FUZZ_MS ?? 4000)

async function healthy(url: string): Promise<boolean> {
  return (await fetch(`${url}/healthz`)).ok
}

/** Anything a client could send in a frame: text (JSON or not, deep or wide), or bytes. */
const frame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.record({ type: fc.oneof(fc.constant('ping'), fc.string({ maxLength: 20 })), data: fc.anything({ maxDepth: 2 }) }).map((m) => JSON.stringify(m)),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
)

t.test('random frames on the plain WebSocket: each answered, connection kept, process healthy', async (t) => {
  const client = await PlainClient.connect(system.origin, schoolA, ownerA)
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const before = await rss(system.realtime.url)
  const deadline = Date.now() + RUN_MS
  let sent = 0
  while (Date.now() < deadline) {
    const batch = fc.sample(frame, 100)
    for (const data of batch) {
      client.socket.send(data, { binary: Buffer.isBuffer(data) })
      sent += 1
    }
    await client.inbox.waitFor(() => client.inbox.messages.filter((m) => m.type === 'pong' || m.type === 'error').length >= sent, `answers to ${sent} frames`, 20_000)
  }
  const answers = client.inbox.messages.filter((m) => m.type === 'pong' || m.type === 'error')
  t.equal(answers.length, sent, `${sent} random frames, each answered with pong or error`)
  t.ok(answers.every((m) => m.type === 'pong' || ['invalid_json', 'invalid_message', 'unknown_type', 'unsupported_frame'].includes((m.data as { code: string }).code)))
  t.equal(client.socket.readyState, client.socket.OPEN, 'the connection is still open')
  t.ok(await healthy(system.realtime.url))
  const growth = (await rss(system.realtime.url)) - before
  t.ok(growth < 64 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`)
})

t.test('random ping payloads over Socket.IO are echoed; the connection is kept', async (t) => {
  const client = await SocketIoClient.connect(system.origin, schoolA, ownerA)
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const payloads = fc.sample(fc.json({ maxDepth: 3 }).map((text) => JSON.parse(text) as unknown), 300)
  for (const payload of payloads) client.socket.emit('ping', payload)
  await client.inbox.waitFor(() => client.inbox.messages.filter((m) => m.type === 'pong').length >= payloads.length, 'every pong')
  t.same(client.inbox.messages.filter((m) => m.type === 'pong').map((m) => m.data), payloads.map((p) => p ?? null))
  t.ok(client.socket.connected)
})

t.test('random bodies on every write route: always a 2xx or a 4xx with a code, never a 5xx', async (t) => {
  const before = await rss(system.api.url)
  const routes = [
    `/api/auth/login`,
    `/api/accounts/schools/${schoolA}/invitations/`,
    `/api/accounts/schools/${schoolA}/students/`,
    `/api/accounts/schools/${schoolA}/classes/`,
    `/api/accounts/invitations/${'a'.repeat(43)}/accept/`,
    `/api/accounts/schools/${fc.sample(fc.string({ maxLength: 12 }), 1)[0]}/students/`,
  ]
  const body = fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ maxLength: 300 }), fc.constant(''), fc.constant('{"email":'))
  const deadline = Date.now() + RUN_MS
  const statuses = new Map<number, number>()
  let bad = 0
  while (Date.now() < deadline) {
    await Promise.all(
      fc.sample(fc.tuple(fc.constantFrom(...routes), body), 20).map(async ([route, payload]) => {
        const response = await fetch(`${system.origin}${encodeURI(route)}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ownerA}`, 'content-type': 'application/json' },
          body: payload,
        })
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        const answer = (await response.json().catch(() => null)) as { code?: unknown } | null
        if (response.status >= 500 || (response.status >= 400 && typeof answer?.code !== 'string')) bad += 1
      }),
    )
  }
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.equal(bad, 0, 'no 5xx, and every 4xx carries a code')
  t.ok(await healthy(system.api.url))
  const growth = (await rss(system.api.url)) - before
  t.ok(growth < 64 * 1024 * 1024, `API RSS grew by ${(growth / 1048576).toFixed(1)} MiB`)
})
