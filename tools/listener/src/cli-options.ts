// The listener's command line: which school, how to sign in, over which transport, read with node:util.
import { parseArgs } from 'node:util'
import type { DashboardTransport } from '@school/events'

export type Transport = DashboardTransport

export interface ListenerOptions {
  origin: string
  schoolId: number
  /** Either a token, or an email and password to sign in with (and again when the token expires). */
  token?: string
  email?: string
  password?: string
  transport: Transport
  /** Resume after this sequence number on the first connection, as after a reconnect. */
  since?: number
  /** Print each envelope as one JSON line instead of a summary. */
  json: boolean
}

export const USAGE = `Usage: npm run listen -- --school <id> (--email <email> --password <password> | --token <token>)
                         [--origin http://localhost:8000] [--transport websocket|socket.io] [--since <seq>] [--json]

Prints a school's live dashboard messages, one line each: time, type and a summary. Reconnects and
resumes after the last event seen when the connection drops. Ctrl-C stops it.

  --school      the school id (you must be an owner or admin of it)
  --email       sign in with this email and --password (the access token is renewed in band before it
                expires, with the session's refresh token; the connection stays open)
  --token       or use this access token
  --origin      the public origin (default $DASHBOARD_ORIGIN or http://localhost:8000)
  --transport   websocket (plain WebSocket, the default) or socket.io
  --since       start by replaying the events after this sequence number
  --json        print each message as the JSON envelope received`

export class UsageError extends Error {}

function positiveInteger(raw: string, name: string, minimum: number): number {
  if (!/^[0-9]{1,10}$/.test(raw) || Number(raw) < minimum || Number(raw) > 2_147_483_647) {
    throw new UsageError(`--${name} must be an integer from ${minimum}, not "${raw}"`)
  }
  return Number(raw)
}

/** Reads argv (without node and the script); throws UsageError naming what is wrong. */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ListenerOptions | 'help' {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        school: { type: 'string' },
        email: { type: 'string' },
        password: { type: 'string' },
        token: { type: 'string' },
        origin: { type: 'string' },
        transport: { type: 'string' },
        since: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }))
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (values.help) return 'help'
  if (values.school === undefined) throw new UsageError('--school is required')
  const schoolId = positiveInteger(values.school, 'school', 1)
  const transport = values.transport ?? 'websocket'
  if (transport !== 'websocket' && transport !== 'socket.io') {
    throw new UsageError(`--transport must be websocket or socket.io, not "${transport}"`)
  }
  if (values.token === undefined && (values.email === undefined || values.password === undefined)) {
    throw new UsageError('give --token, or --email and --password')
  }
  if (values.token !== undefined && (values.email !== undefined || values.password !== undefined)) {
    throw new UsageError('give either --token or --email and --password, not both')
  }
  const origin = (values.origin ?? env.DASHBOARD_ORIGIN ?? 'http://localhost:8000').replace(/\/+$/, '')
  if (!/^https?:\/\/[^/]+$/.test(origin)) throw new UsageError(`--origin must be like http://host:port, not "${origin}"`)
  return {
    origin,
    schoolId,
    transport,
    json: values.json ?? false,
    ...(values.token === undefined ? {} : { token: values.token }),
    ...(values.email === undefined ? {} : { email: values.email }),
    ...(values.password === undefined ? {} : { password: values.password }),
    ...(values.since === undefined ? {} : { since: positiveInteger(values.since, 'since', 0) }),
  }
}
