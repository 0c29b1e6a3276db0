// The ingest scenario's HTTP load against a small real server on port 0: every request gets its own path
// and body, statuses are counted, and only answers with the expected status are timed.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { closedLoop, fixedRate, type LoadTarget } from '../src/harness/http-load.js'
import { keepAliveAgent } from '../src/harness/json-request.js'

interface Received {
  method: string
  path: string
  contentType: string | undefined
  authorization: string | undefined
  body: { serial: number }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => (text += chunk))
    request.on('end', () => resolve(text))
    request.on('error', reject)
  })
}

/** Answers 201, except 409 for every fifth request (serial % 5 === 4). */
async function startServer(t: Test): Promise<{ origin: string; received: Received[] }> {
  const received: Received[] = []
  const server = createServer((request, response) => {
    void readBody(request).then((text) => {
      const body = JSON.parse(text) as { serial: number }
      received.push({ method: request.method!, path: request.url!, contentType: request.headers['content-type'], authorization: request.headers.authorization, body })
      response.writeHead(body.serial % 5 === 4 ? 409 : 201, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

function target(origin: string): LoadTarget {
  let serial = 0
  return {
    origin,
    path: () => `/schools/${serial % 3}/invitations`,
    headers: { authorization: 'Bearer bench' },
    body: () => ({ serial: serial++ }),
    expectStatus: 201,
    agent: keepAliveAgent(4),
  }
}

t.test('closedLoop sends a new path and body with every request and counts the answers by status', async (t) => {
  const { origin, received } = await startServer(t)
  const outcome = await closedLoop(target(origin), 4, 0.5)
  t.ok(received.length > 20, `${received.length} requests answered`)
  t.same(new Set(received.map((request) => request.method)), new Set(['POST']))
  t.same(new Set(received.map((request) => request.contentType)), new Set(['application/json']))
  t.same(new Set(received.map((request) => request.authorization)), new Set(['Bearer bench']))
  const serials = received.map((request) => request.body.serial)
  t.equal(new Set(serials).size, serials.length, 'no body sent twice')
  t.same(
    received.filter((request) => request.path !== `/schools/${request.body.serial % 3}/invitations`),
    [],
    'each path made with its body',
  )
  // The loop stops at its deadline with requests in flight: the server saw at least what was answered.
  const answered = (outcome.statuses['201'] ?? 0) + (outcome.statuses['409'] ?? 0)
  t.ok(answered > 0 && answered <= received.length, `${answered} answers counted`)
  t.equal(outcome.requests, answered, 'no connection errors')
  t.equal(outcome.errors, outcome.statuses['409'] ?? 0, 'the unexpected statuses are the errors')
  t.ok(outcome.errors > 0, 'the server answered 409 to some')
  t.ok(outcome.requestsPerSecond > 0 && Number.isFinite(outcome.requestsPerSecond))
  t.ok(outcome.p50Ms > 0 && outcome.p50Ms <= outcome.p99Ms, `p50 ${outcome.p50Ms} <= p99 ${outcome.p99Ms}`)
  t.ok(outcome.generatorCpu > 0, 'the generator CPU is measured')
})

t.test('fixedRate starts rate x seconds requests and counts the answers by status', async (t) => {
  const { origin, received } = await startServer(t)
  const outcome = await fixedRate(target(origin), 40, 0.5)
  t.equal(received.length, 20, 'every request started was answered')
  t.same(outcome.statuses, { 201: 16, 409: 4 })
  t.equal(outcome.requests, 20)
  t.equal(outcome.errors, 4)
  t.same(received.map((request) => request.body.serial).sort((a, b) => a - b), Array.from({ length: 20 }, (_, index) => index), 'one body per request')
  t.ok(outcome.p50Ms > 0 && outcome.p50Ms <= outcome.p99Ms, `p50 ${outcome.p50Ms} <= p99 ${outcome.p99Ms}`)
})
