// Starts a Node server on the server core with the probe preloaded, waits until it says where it listens
// (or that it is ready), and can ask it for its memory and CPU time, or count its heap objects.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { reapOnExit } from '@school/test-support'
import type { Pauses } from '../probes/pause-monitor.js'
import { onServerCore } from './pinning.js'

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PROBE = new URL('../probes/process-probe.js', import.meta.url).href

/** Matches the services' `listening on http://host:port` and the bench servers' own ready lines. */
const READY_TIMEOUT_MS = 30_000
const READY = /(?:listening (?:on|at) (http:\/\/[^\s"]+))|bench-ready/

export interface ProbeSample {
  heapUsed: number
  rss: number
  cpuUs: number
  /** Event-loop delay and GC pauses since the previous probe of this process. */
  pauses: Pauses
}

export interface HeapCensus {
  counts: Record<string, number>
  /** Self bytes per kind of heap node (`object:Map`, `string`, ...): what a server keeps more of. */
  bytes: Record<string, number>
  /** How long the snapshot and the count took in the server. */
  ms: number
}

export interface PinnedProcess {
  name: string
  /** The URL it listens on, or '' for a process that only says it is ready. */
  url: string
  child: ChildProcess
  logs: string[]
  probe(options?: { gc?: boolean }): Promise<ProbeSample>
  /** Objects on the server's heap per constructor name (a heap snapshot: slow, seconds for a large heap). */
  census(names: readonly string[]): Promise<HeapCensus>
  /** Starts a CPU profile of a window; the function returned stops it and writes it to `file`. */
  profileWindow(): Promise<(file: string) => Promise<void>>
  stop(): Promise<void>
}

/**
 * Full GCs run after a census when more heap samples follow. A heap snapshot makes V8 attach source
 * positions to all bytecode (+24 MiB in an idle realtime service), which stays until that bytecode is
 * flushed for disuse, about 16 full GCs later: without these the census would inflate the next sample.
 */
export const FLUSH_GCS_AFTER_CENSUS = 18

export async function flushAfterCensus(server: PinnedProcess): Promise<void> {
  // Two full GCs per probe.
  for (let probe = 0; probe < FLUSH_GCS_AFTER_CENSUS / 2; probe++) await server.probe({ gc: true })
}

/** Set by `--cpu-prof`: every server then writes a V8 CPU profile there when it exits. */
export const CPU_PROFILE_DIR_ENV = 'BENCH_CPU_PROF_DIR'

function profileFlags(name: string): string[] {
  const dir = process.env[CPU_PROFILE_DIR_ENV]
  if (!dir) return []
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}-${Date.now()}.cpuprofile`]
}

/**
 * Service settings a run may take from the bench's own environment, for an A/B of one setting (e.g.
 * `DATABASE_PREPARED_STATEMENTS=0 npm run bench -- ingest`): passed to every server it starts, and written in
 * front of the result's command.
 */
export const SERVER_SETTINGS_FROM_ENV = ['DATABASE_PREPARED_STATEMENTS', 'BENCH_SERVER_NODE_FLAGS'] as const

/**
 * Node flags for every server the bench starts, from `BENCH_SERVER_NODE_FLAGS` (space-separated), for an A/B
 * of a V8 setting: `BENCH_SERVER_NODE_FLAGS=--max-semi-space-size=64 npm run bench -- latency`. Listed in
 * SERVER_SETTINGS_FROM_ENV, so the result's command shows them.
 */
export function serverNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.BENCH_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '')
}

/** Those of SERVER_SETTINGS_FROM_ENV that are set in `env`. */
export function serverSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const name of SERVER_SETTINGS_FROM_ENV) {
    const value = env[name]
    if (value !== undefined) settings[name] = value
  }
  return settings
}

export async function startPinned(name: string, script: string, env: Record<string, string>): Promise<PinnedProcess> {
  const argv = onServerCore([process.execPath, '--expose-gc', ...serverNodeFlags(), ...profileFlags(name), '--import', PROBE, script])
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...serverSettingsFromEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  // A run that crashes must not leave servers behind on the machine.
  reapOnExit(child)
  const logs: string[] = []
  const keep = (line: string) => {
    logs.push(line)
    if (logs.length > 200) logs.shift()
  }
  createInterface({ input: child.stderr! }).on('line', keep)
  const exited = once(child, 'exit')
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line)
      const match = READY.exec(line)
      if (match) resolve((match[1] ?? '').replace(/\/$/, ''))
    })
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready:\n${logs.join('\n')}`)))
    setTimeout(() => reject(new Error(`${name} did not say it was ready within ${READY_TIMEOUT_MS} ms:\n${logs.join('\n')}`)), READY_TIMEOUT_MS).unref()
  }).catch((error: unknown) => {
    child.kill('SIGKILL')
    throw error
  })

  let nextId = 0
  /** One IPC request to the probe and its reply (matched by id). */
  const ask = <Reply>(type: string, request: Record<string, unknown>): Promise<Reply> => {
    const id = nextId++
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type?: string; id?: number; error?: string }) => {
        if (message?.type !== type || message.id !== id) return
        child.off('message', onMessage)
        if (message.error) reject(new Error(`${name} probe: ${message.error}`))
        else resolve(message as Reply)
      }
      child.on('message', onMessage)
      child.send({ type, id, ...request }, (error) => {
        if (error) reject(error)
      })
    })
  }
  return {
    name,
    url,
    child,
    logs,
    async probe({ gc = false } = {}) {
      const { heapUsed, rss, cpuUs, pauses } = await ask<ProbeSample>('bench:probe', { gc })
      return { heapUsed, rss, cpuUs, pauses }
    },
    async census(names) {
      const { counts, bytes, ms } = await ask<HeapCensus>('bench:census', { names })
      return { counts, bytes, ms }
    },
    async profileWindow() {
      await ask('bench:profile', {})
      return async (file) => {
        await ask('bench:profile', { stopInto: file })
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Server CPU used between two samples, as a share of one core. */
export function cpuShare(before: ProbeSample, after: ProbeSample, wallMs: number): number {
  return (after.cpuUs - before.cpuUs) / 1000 / wallMs
}

/**
 * Waits (up to 10 s) until every server is mostly idle (under 20% of a core over 250 ms), e.g. done with
 * the handshakes or closes of a fleet, so that one arm's tail does not land in the next measurement.
 * Resolves false if they were still busy when it gave up.
 */
export async function waitForQuiet(...servers: PinnedProcess[]): Promise<boolean> {
  const deadline = performance.now() + 10_000
  let previous = await Promise.all(servers.map((server) => server.probe()))
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const samples = await Promise.all(servers.map((server) => server.probe()))
    const busiest = Math.max(...samples.map((sample, index) => cpuShare(previous[index]!, sample, 250)))
    previous = samples
    if (busiest < 0.2) return true
  }
  return false
}

export function benchScript(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url))
}

export function serviceScript(service: 'api' | 'realtime'): string {
  return `${REPO_ROOT}services/${service}/dist/server.js`
}
