// Watches the shared Redis from outside the services, on connections of its own (redis-cli): which
// connections belong to which of our processes, their sharded subscriptions, and the commands they send.
import { execFile, spawn } from 'node:child_process'
import { reapOnExit } from './child-reaper.js'
import { readdir, readFile, readlink } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { TEST_REDIS_URL } from './redis.js'

const run = promisify(execFile)
const REDIS_PORT = Number(new URL(TEST_REDIS_URL).port || 6379)

/** One command on a fresh redis-cli connection; the reply as redis-cli prints it when piped (one item a line). */
export async function redisCli(...args: string[]): Promise<string[]> {
  const { stdout } = await run('redis-cli', ['-u', TEST_REDIS_URL, ...args])
  return stdout.replace(/\n$/, '').split('\n')
}

/** PUBSUB SHARDNUMSUB: subscribers per sharded channel, over the whole Redis. */
export async function shardSubscribers(...channels: string[]): Promise<Record<string, number>> {
  const reply = await redisCli('PUBSUB', 'SHARDNUMSUB', ...channels)
  const counts: Record<string, number> = {}
  for (let i = 0; i + 1 < reply.length; i += 2) counts[reply[i]!] = Number(reply[i + 1])
  return counts
}

/** The local TCP ports of the connections process `pid` holds to Redis (Linux /proc). */
export async function redisPortsOf(pid: number): Promise<Set<number>> {
  const inodes = new Set<string>()
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
    const match = /^socket:\[(\d+)\]$/.exec(target)
    if (match?.[1]) inodes.add(match[1])
  }
  const ports = new Set<number>()
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '')
    for (const row of text.split('\n').slice(1)) {
      const cells = row.trim().split(/\s+/)
      const [local, remote, inode] = [cells[1], cells[2], cells[9]]
      if (!local || !remote || !inode || !inodes.has(inode)) continue
      if (parseInt(remote.split(':')[1] ?? '', 16) === REDIS_PORT) ports.add(parseInt(local.split(':')[1] ?? '', 16))
    }
  }
  return ports
}

/** CLIENT LIST, as one record per connection, keyed by the client's port. */
export async function redisClients(): Promise<Map<number, Record<string, string>>> {
  const clients = new Map<number, Record<string, string>>()
  for (const line of await redisCli('CLIENT', 'LIST')) {
    const fields = Object.fromEntries(line.split(' ').map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]))
    const port = Number(fields.addr?.split(':').at(-1))
    if (port) clients.set(port, fields)
  }
  return clients
}

/** How many sharded channels the connections of process `pid` are subscribed to (CLIENT LIST `ssub`). */
export async function shardSubscriptionsOf(pid: number): Promise<number> {
  const [ports, clients] = await Promise.all([redisPortsOf(pid), redisClients()])
  let total = 0
  for (const port of ports) total += Number(clients.get(port)?.ssub ?? 0)
  return total
}

export interface CommandLog {
  /** Commands sent by connections on the given ports, by command name (Lua-internal calls excluded). */
  countBy(ports: Iterable<number>): Map<string, number>
  /** Ends the window: what runs after it is not counted. */
  stop(): Promise<void>
}

/** `"<ts> [<db> <addr>:<port>] "<COMMAND>" ...`; lines of Lua-internal calls (`[0 lua]`) do not match. */
const MONITOR_LINE = /^\d+\.\d+ \[\d+ [^\]]*:(\d+)\] "([^"]+)"/

/**
 * Counts every command Redis executes (MONITOR), by client port and command name, from now until `stop()`.
 * Both ends are fenced with an ECHO of a unique marker seen in the stream, so the counts hold exactly what
 * ran in between. Lines are counted as they stream past, not kept: an idle service may send thousands a second.
 */
export async function monitorCommands(): Promise<CommandLog> {
  const marker = `monitor-${process.pid}-${Date.now()}`
  // Started from this process, redis-cli inherits its CPU pinning (the bench's generator core).
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
  await fence(`${marker}-start`)
  return {
    countBy(ports) {
      const counts = new Map<string, number>()
      for (const port of new Set(ports)) {
        for (const [command, count] of byPort.get(port) ?? []) counts.set(command, (counts.get(command) ?? 0) + count)
      }
      return counts
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      await fence(`${marker}-end`)
      child.kill('SIGTERM')
    },
  }
}

/** Sum of a `countBy` result. */
export function total(counts: Map<string, number>): number {
  let sum = 0
  for (const count of counts.values()) sum += count
  return sum
}
