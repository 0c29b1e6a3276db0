// Hostile request bodies and WebSocket frames against the running services, one test per case: oversized
// bodies (413) and frames (close 1009, Socket.IO transport close), malformed and prototype-polluting JSON,
// wrong content types, bodies of the wrong shape, binary and malformed frames (answered with an error,
// the connection kept), garbage on the Socket.IO wire. Each is refused exactly, nothing is stored, and
// both services stay healthy.
import t from 'tap'
import WebSocket from 'ws'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import { assertStillHealthy } from './hostile-checks.js'

const system = await startSystem(t, 'e2e_hostile_bodies')
const { fixture } = system
const ownerA = await system.login(fixture.ownerA)
const legitimate = { token: await system.login(fixture.adminA), schoolId: fixture.schoolA.id }
const studentsUrl = `${system.origin}/api/accounts/schools/${fixture.schoolA.id}/students/`
const BODY_LIMIT = 64 * 1024
const FRAME_LIMIT = 16 * 1024

async function postRaw(body: string | ReadableStream<Uint8Array>, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
  const streamed = typeof body !== 'string'
  const response = await fetch(studentsUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${ownerA}`, 'content-type': contentType },
    body,
    ...(streamed ? { duplex: 'half' } : {}),
  } as RequestInit)
  return { status: response.status, body: await response.json() }
}

const studentsStored = () => system.prisma.membership.count({ where: { schoolId: fixture.schoolA.id, role: 'student' } })
const studentsBefore = await studentsStored()

const bodyCases: Array<{ name: string; body: () => string | ReadableStream<Uint8Array>; contentType?: string; expected: { status: number; body: object } }> = [
  {
    name: 'a body over BODY_LIMIT_BYTES, with its Content-Length',
    body: () => JSON.stringify({ name: 'x'.repeat(BODY_LIMIT + 1) }),
    expected: { status: 413, body: { code: 'payload_too_large', message: 'The request body is too large' } },
  },
  {
    name: 'a body over BODY_LIMIT_BYTES sent chunked, without a Content-Length',
    body: () =>
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(16 * 1024)))
          controller.close()
        },
      }),
    expected: { status: 413, body: { code: 'payload_too_large', message: 'The request body is too large' } },
  },
  {
    name: 'malformed JSON',
    body: () => '{"name": "Ana", ',
    expected: { status: 400, body: { code: 'invalid_json', message: 'The request body is not valid JSON' } },
  },
  {
    name: 'a __proto__ key (prototype pollution)',
    body: () => '{"name": "Ana", "__proto__": {"isAdmin": true}}',
    expected: { status: 400, body: { code: 'invalid_json', message: 'The request body is not valid JSON' } },
  },
  {
    name: 'a constructor.prototype key (prototype pollution)',
    body: () => '{"name": "Ana", "constructor": {"prototype": {"isAdmin": true}}}',
    expected: { status: 400, body: { code: 'invalid_json', message: 'The request body is not valid JSON' } },
  },
  {
    name: 'JSON sent as text/plain',
    body: () => '{"name": "Ana"}',
    contentType: 'text/plain',
    expected: { status: 415, body: { code: 'unsupported_media_type', message: 'Unsupported content type: send the body as application/json' } },
  },
  {
    name: 'an array nested 5,000 deep where a string belongs',
    body: () => `{"name": ${'['.repeat(5000)}${']'.repeat(5000)}}`,
    expected: { status: 400, body: { code: 'validation_failed', message: 'Invalid request body', errors: [{ field: 'name', message: 'must be string' }] } },
  },
  {
    name: 'a field the route does not know',
    body: () => '{"name": "Ana", "role": "school_owner"}',
    expected: { status: 400, body: { code: 'validation_failed', message: 'Invalid request body', errors: [{ field: 'role', message: 'is not allowed' }] } },
  },
]

for (const { name, body, contentType, expected } of bodyCases) {
  t.test(`HTTP refuses ${name}`, async (t) => {
    t.same(await postRaw(body(), contentType), expected)
    t.equal(await studentsStored(), studentsBefore, 'nothing was stored')
    await assertStillHealthy(t, system, legitimate)
  })
}

t.test(`the plain WebSocket closes a connection that sends a frame over WS_MAX_PAYLOAD_BYTES with 1009`, async (t) => {
  const client = await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA)
  const other = await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA)
  t.teardown(() => Promise.all([client.close(), other.close()]))
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)))
  client.send(JSON.stringify({ type: 'ping', data: 'x'.repeat(FRAME_LIMIT) }))
  t.equal(await closed, 1009)
  other.ping('still here?')
  t.equal((await other.inbox.waitFor((m) => m.type === 'pong', 'a pong on the other connection')).data, 'still here?', 'other connections are not affected')
  await assertStillHealthy(t, system, legitimate)
})

t.test('Socket.IO drops a connection that sends a packet over the same limit', async (t) => {
  const client = await SocketIoClient.connect(system.origin, fixture.schoolA.id, ownerA)
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const reason = new Promise<string>((resolve) => client.socket.once('disconnect', (why) => resolve(why)))
  client.socket.emit('ping', 'x'.repeat(FRAME_LIMIT + 1))
  t.equal(await reason, 'transport close')
  await assertStillHealthy(t, system, legitimate)
})

const frameCases: Array<{ name: string; frame: string | Buffer; code: string }> = [
  { name: 'text that is not JSON', frame: '{"type": "ping", ', code: 'invalid_json' },
  { name: 'a binary frame', frame: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]), code: 'unsupported_frame' },
  { name: 'a JSON array', frame: '[1, 2, 3]', code: 'invalid_message' },
  { name: 'JSON null', frame: 'null', code: 'invalid_message' },
  { name: 'a type that is not a string', frame: '{"type": {"$ne": null}}', code: 'invalid_message' },
  { name: 'an unknown type', frame: '{"type": "subscribe", "data": {"schoolId": 2}}', code: 'unknown_type' },
  { name: 'a __proto__ key', frame: '{"type": "ping", "__proto__": {"isAdmin": true}}', code: 'pong' },
]

for (const { name, frame, code } of frameCases) {
  t.test(`the plain WebSocket answers ${name} with ${code === 'pong' ? 'a plain pong' : `error ${code}`}, and keeps the connection`, async (t) => {
    const client = await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA)
    t.teardown(() => client.close())
    await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
    client.socket.send(frame, { binary: Buffer.isBuffer(frame) })
    const answer = await client.inbox.waitFor((m) => m.type === 'error' || m.type === 'pong', 'the answer')
    if (code === 'pong') t.same(answer.data, null, 'a pong with no data: the extra key is ignored, not merged anywhere')
    else t.equal((answer.data as { code: string }).code, code)
    client.ping('after')
    t.equal((await client.inbox.waitFor((m) => m.type === 'pong' && m.data === 'after', 'a pong afterwards')).data, 'after', 'still open and served')
    await assertStillHealthy(t, system, legitimate)
  })
}

t.test('garbage on the Socket.IO wire closes that connection only', async (t) => {
  const raw = new WebSocket(`${system.origin.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`)
  t.teardown(() => raw.terminate())
  const frames: string[] = []
  raw.on('message', (data) => frames.push(String(data)))
  await new Promise((resolve, reject) => raw.once('open', resolve).once('error', reject))
  raw.send(`40${JSON.stringify({ token: ownerA, schoolId: fixture.schoolA.id })}`)
  const connected = () => frames.some((frame) => frame.startsWith('42["connection_established"'))
  while (!connected()) await new Promise((resolve) => raw.once('message', resolve))
  const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)))
  raw.send('42["ping", {not json')
  t.equal(await closed, 1005, 'the server closes the WebSocket (no close code)')
  await assertStillHealthy(t, system, legitimate)
})
