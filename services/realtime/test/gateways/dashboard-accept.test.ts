import t from 'tap'
import { EventEmitter } from 'node:events'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { DASHBOARD_TRANSPORTS } from '@school/events'
import { createAcceptStep, holdLease } from '../../src/gateways/dashboard-accept.js'
import { HANDSHAKE_FAILED, type HandshakeResult } from '../../src/gateways/handshake.js'
import { ORIGIN_REFUSAL } from '../../src/guards/connection-guards.js'
import type { ConnectionLease } from '../../src/guards/connection-limits.js'

interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

function capturingLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const { time: _time, pid: _pid, hostname: _hostname, ...line } = JSON.parse(chunk.toString()) as LogLine
      lines.push(line)
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

const lease: ConnectionLease = { release: () => {}, extend: () => {} }
const request = { origin: 'https://dashboard.example', token: 't', schoolId: '1', since: undefined, clientAddress: () => '10.0.0.7' }
const allowedOrigins = new Set(['https://dashboard.example'])

for (const transport of DASHBOARD_TRANSPORTS) {
  t.test(`${transport}: refusals are logged once each, with the transport's name, 429s at debug`, async (t) => {
    const { logger, lines } = capturingLogger()
    const answers: HandshakeResult[] = [
      { accepted: false, refusal: { status: 401, code: 'unauthorized', message: 'A valid access token is required' } },
      { accepted: false, refusal: { status: 429, code: 'too_many_connections', message: 'Too many', retryAfterSeconds: 3 } },
      { accepted: true, access: { user: { id: 1, email: null, name: 'A' }, role: 'school_owner', schoolId: 1 }, lease },
    ]
    const seen: unknown[] = []
    const accept = createAcceptStep(transport, {
      logger,
      allowedOrigins,
      handshake: async (credentials) => {
        seen.push(credentials)
        return answers.shift()!
      },
    })

    t.same(await accept({ ...request, origin: 'https://evil.example' }), { accepted: false, refusal: ORIGIN_REFUSAL }, 'a foreign origin is refused before the handshake')
    t.same(seen, [])
    t.match(await accept({ ...request, logFields: { path: '/ws/schools/1/dashboard/' } }), { accepted: false, refusal: { status: 401 } })
    t.match(await accept(request), { accepted: false, refusal: { status: 429, retryAfterSeconds: 3 } })
    t.match(await accept(request), { accepted: true, lease })
    t.same(seen[0], { token: 't', schoolId: '1', since: undefined, clientAddress: '10.0.0.7' })
    t.same(lines, [
      { level: 30, transport, status: 403, code: 'origin_not_allowed', origin: 'https://evil.example', msg: 'dashboard connection refused' },
      { level: 30, transport, status: 401, code: 'unauthorized', path: '/ws/schools/1/dashboard/', clientAddress: '10.0.0.7', msg: 'dashboard connection refused' },
      { level: 20, transport, status: 429, code: 'too_many_connections', clientAddress: '10.0.0.7', msg: 'dashboard connection refused' },
    ])
  })

  t.test(`${transport}: a handshake that throws is logged as ${transport} handshake failed and refused with 500`, async (t) => {
    const { logger, lines } = capturingLogger()
    const accept = createAcceptStep(transport, {
      logger,
      allowedOrigins,
      handshake: async () => {
        throw new Error('database down')
      },
    })
    t.same(await accept(request), { accepted: false, refusal: HANDSHAKE_FAILED })
    t.match(lines, [{ level: 50, msg: `${transport} handshake failed`, err: { message: 'database down' } }])
  })
}

t.test('a held lease is given back once when its owner ends, or at once if it has already ended', async (t) => {
  const released: string[] = []
  function release(this: EventEmitter & { name: string }): void {
    released.push(this.name)
  }
  const open = Object.assign(new EventEmitter(), { name: 'open' })
  const gone = Object.assign(new EventEmitter(), { name: 'gone' })
  holdLease(open, 'close', release, false)
  holdLease(gone, 'close', release, true)
  t.same(released, ['gone'])
  open.emit('close')
  t.same(released, ['gone', 'open'])
})
