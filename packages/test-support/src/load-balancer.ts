// Runs the real load balancer of deploy/haproxy/haproxy.cfg for a test or a benchmark: installs haproxy if
// it can, starts it on a free port with the given instances, and reads its stats (status, sessions).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { reapOnExit } from './child-reaper.js'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const HAPROXY_CONFIG = `${ROOT}deploy/haproxy/haproxy.cfg`

type Teardown = (fn: () => unknown) => void

function haproxyPath(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

/** The haproxy binary; installed with apt-get when missing and possible, else a message saying what to do. */
export function ensureHaproxy(): string {
  const found = haproxyPath()
  if (found) return found
  const isRoot = process.getuid?.() === 0
  let aptGet = false
  try {
    execFileSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' })
    aptGet = true
  } catch {}
  if (!isRoot || !aptGet) {
    throw new Error(
      `haproxy is not installed and cannot be installed here (${isRoot ? 'no apt-get' : 'not root'}). ` +
        'Install HAProxy 2.4 or newer (Debian/Ubuntu: sudo apt-get install -y haproxy; macOS: brew install haproxy) and run the tests again.',
    )
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'haproxy'], { env, stdio: 'pipe' })
  } catch {
    try {
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'pipe' })
      execFileSync('apt-get', ['install', '-y', '-qq', 'haproxy'], { env, stdio: 'pipe' })
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? String(error)
      throw new Error(`haproxy is not installed and 'apt-get install -y haproxy' failed:\n${stderr}`)
    }
  }
  const installed = haproxyPath()
  if (!installed) throw new Error("'apt-get install -y haproxy' succeeded but no haproxy binary is on PATH")
  return installed
}

/** `host:port` of an instance URL such as http://127.0.0.1:41234. */
export function hostPort(url: string): string {
  return new URL(url).host
}

/** The environment that fills the config's server slots: API_1.., REALTIME_1.. (at most 4 each). */
export function serverSlots(api: string[], realtime: string[]): Record<string, string> {
  if (api.length > 4 || realtime.length > 4) throw new Error('deploy/haproxy/haproxy.cfg has 4 slots per backend')
  const env: Record<string, string> = {}
  api.forEach((address, index) => (env[`API_${index + 1}`] = address))
  realtime.forEach((address, index) => (env[`REALTIME_${index + 1}`] = address))
  return env
}

export type ServerStatus = 'UP' | 'DOWN' | 'MAINT' | 'NOLB' | string

export interface ServerStats {
  status: ServerStatus
  /** Sessions open now (`scur`): for the realtime backend, the WebSocket tunnels to that instance. */
  sessions: number
}

export interface LoadBalancer {
  /** The public origin, e.g. http://127.0.0.1:40001 */
  origin: string
  child: ChildProcess
  logs: string[]
  /** Status per `backend/server`, e.g. { 'realtime/realtime-1': 'UP' }, from the stats CSV. */
  serverStatus(): Promise<Record<string, ServerStatus>>
  /** Status and current sessions per `backend/server`, from the same CSV. */
  serverStats(): Promise<Record<string, ServerStats>>
  /** Resolves once every listed server has the wanted status; fails after `ms` with what it saw. */
  waitForStatus(wanted: Record<string, ServerStatus>, ms?: number): Promise<void>
}

/**
 * Starts haproxy in the foreground with deploy/haproxy/haproxy.cfg on `port`, in front of the given
 * instances (URLs), and resolves once all of them are marked UP by its health checks.
 */
export async function startLoadBalancer(
  teardown: Teardown,
  options: {
    port: number
    api: string[]
    realtime: string[]
    /** Wraps the haproxy command line, e.g. to pin it to a core or raise its descriptor limit (benchmarks). */
    launcher?: (argv: string[]) => string[]
  },
): Promise<LoadBalancer> {
  const haproxy = ensureHaproxy()
  const statsPort = await freePort()
  const env = {
    PATH: process.env.PATH ?? '',
    HAPROXY_BIND: `127.0.0.1:${options.port}`,
    HAPROXY_STATS_BIND: `127.0.0.1:${statsPort}`,
    ...serverSlots(options.api.map(hostPort), options.realtime.map(hostPort)),
  }
  // -db: stay in the foreground, so the child is haproxy itself and stopping it stops the proxy.
  // A launcher such as taskset or prlimit execs in place, so the child is still haproxy.
  const argv = (options.launcher ?? ((command) => command))([haproxy, '-db', '-f', HAPROXY_CONFIG])
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
  reapOnExit(child)
  const logs: string[] = []
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => logs.push(...chunk.split('\n').filter(Boolean)))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => logs.push(...chunk.split('\n').filter(Boolean)))
  const exited = once(child, 'exit')
  teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await exited
  })

  const statsUrl = `http://127.0.0.1:${statsPort}/stats;csv`
  const serverStats = async (): Promise<Record<string, ServerStats>> => {
    const csv = await (await fetch(statsUrl)).text()
    const [header, ...rows] = csv.trim().split('\n')
    const columns = (header ?? '').replace(/^# /, '').split(',')
    const at = (name: string) => columns.indexOf(name)
    const result: Record<string, ServerStats> = {}
    for (const row of rows) {
      const cells = row.split(',')
      const server = cells[at('svname')]
      if (server === 'FRONTEND' || server === 'BACKEND') continue
      result[`${cells[at('pxname')]}/${server}`] = {
        status: (cells[at('status')] ?? '').split(' ')[0] ?? '',
        sessions: Number(cells[at('scur')] ?? 0),
      }
    }
    return result
  }
  const serverStatus = async (): Promise<Record<string, ServerStatus>> =>
    Object.fromEntries(Object.entries(await serverStats()).map(([server, stats]) => [server, stats.status]))

  const waitForStatus = async (wanted: Record<string, ServerStatus>, ms = 15_000): Promise<void> => {
    const deadline = Date.now() + ms
    let seen: Record<string, ServerStatus> | string = 'nothing yet'
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${logs.join('\n')}`)
      try {
        const status = await serverStatus()
        seen = status
        if (Object.entries(wanted).every(([server, state]) => status[server] === state)) return
      } catch (error) {
        seen = String(error)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`haproxy did not reach ${JSON.stringify(wanted)} within ${ms} ms; last seen: ${JSON.stringify(seen)}`)
  }

  const allUp: Record<string, ServerStatus> = {}
  options.api.forEach((_, index) => (allUp[`api/api-${index + 1}`] = 'UP'))
  options.realtime.forEach((_, index) => (allUp[`realtime/realtime-${index + 1}`] = 'UP'))
  await waitForStatus(allUp)
  return { origin: `http://127.0.0.1:${options.port}`, child, logs, serverStatus, serverStats, waitForStatus }
}
