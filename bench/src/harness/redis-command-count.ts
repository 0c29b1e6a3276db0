// Counts the Redis commands of a window two ways: every command the server ran (INFO stats
// total_commands_processed, which on a shared Redis includes everyone else's), and the commands sent by
// given processes' connections (MONITOR, attributed by the local port of each connection, as tests/scale's
// observer does), counted as the lines stream past instead of kept, since an idle service with per-school
// timers can send thousands a second.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { reapOnExit, TEST_REDIS_URL } from '@school/test-support'
import { redisCli, redisPortsOf } from '@school/test-support/system'

export interface RedisCommandCount {
  /** Per watched process: the commands its connections sent, by name (commands run inside Lua scripts excluded). */
  byProcess: Record<string, Record<string, number>>
  /** All watched processes' commands together. */
  attributed: number
  /** Per watched process: its Redis connections (at the start or the end of the window). */
  connections: Record<string, number>
  /** total_commands_processed over the window: every client of this Redis, other tenants' too. */
  serverTotal: number
  wallMs: number
}

export interface RedisCommandWindow {
  /** Ends the window and attributes its commands to the processes by their connections now and at the start. */
  stop(): Promise<RedisCommandCount>
}

async function totalCommandsProcessed(): Promise<number> {
  const line = (await redisCli('INFO', 'stats')).find((l) => l.startsWith('total_commands_processed:'))
  if (!line) throw new Error('INFO stats has no total_commands_processed')
  return Number(line.slice('total_commands_processed:'.length).trim())
}

async function portsOf(pids: Record<string, number>): Promise<Map<string, Set<number>>> {
  const ports = new Map<string, Set<number>>()
  for (const [name, pid] of Object.entries(pids)) ports.set(name, await redisPortsOf(pid))
  return ports
}

/** `"<ts> [<db> <addr>:<port>] "<COMMAND>" ...`; lines of Lua-internal calls (`[0 lua]`) do not match. */
const MONITOR_LINE = /^\d+\.\d+ \[\d+ [^\]]*:(\d+)\] "([^"]+)"/

/**
 * Starts counting now for the processes `pids` (name -> pid). Both ends are fenced with an ECHO of a unique
 * marker seen in the MONITOR stream, so the counts hold exactly what ran in between; each process is asked
 * for its connections at the start too, in case one closes during the window.
 */
export async function startRedisCommandWindow(pids: Record<string, number>): Promise<RedisCommandWindow> {
  const marker = `many-schools-monitor-${process.pid}-${Date.now()}`
  // Started from this process, redis-cli inherits its pinning to the generator core.
  const child = spawn('redis-cli', ['-u', TEST_REDIS_URL, 'MONITOR'], { stdio: ['ignore', 'pipe', 'inherit'] })
  reapOnExit(child)
  const byPort = new Map<number, Map<string, number>>()
  let counting = false
  let waiting: { text: string; resolve: () => void } | undefined
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (waiting && line.includes(waiting.text)) {
      waiting.resolve()
      waiting = undefined
      counting = !counting
      return
    }
    if (!counting) return
    const match = MONITOR_LINE.exec(line)
    if (!match) return
    const port = Number(match[1])
    let commands = byPort.get(port)
    if (!commands) byPort.set(port, (commands = new Map()))
    const command = match[2]!.toUpperCase()
    commands.set(command, (commands.get(command) ?? 0) + 1)
  })
  const fence = async (text: string) => {
    const seen = new Promise<void>((resolve) => (waiting = { text, resolve }))
    // MONITOR starts asynchronously: repeat the marker until it shows up, with a bound.
    for (let attempt = 0; attempt < 50; attempt++) {
      await redisCli('ECHO', text)
      const shown = await Promise.race([seen.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))])
      if (shown) return
    }
    child.kill('SIGTERM')
    throw new Error(`MONITOR never showed ${text}`)
  }
  const portsAtStart = await portsOf(pids)
  await fence(`${marker}-start`)
  const totalAtStart = await totalCommandsProcessed()
  const started = performance.now()
  return {
    async stop() {
      const wallMs = performance.now() - started
      const serverTotal = (await totalCommandsProcessed()) - totalAtStart
      await fence(`${marker}-end`)
      child.kill('SIGTERM')
      const portsAtEnd = await portsOf(pids)
      const byProcess: Record<string, Record<string, number>> = {}
      const connections: Record<string, number> = {}
      let attributed = 0
      for (const name of Object.keys(pids)) {
        const commands: Record<string, number> = {}
        const ports = new Set([...(portsAtStart.get(name) ?? []), ...(portsAtEnd.get(name) ?? [])])
        connections[name] = ports.size
        for (const port of ports) {
          for (const [command, count] of byPort.get(port) ?? []) {
            commands[command] = (commands[command] ?? 0) + count
            attributed += count
          }
        }
        byProcess[name] = commands
      }
      return { byProcess, attributed, connections, serverTotal, wallMs }
    },
  }
}
