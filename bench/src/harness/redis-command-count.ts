// Counts the Redis commands of a window two ways: every command the server ran (INFO stats
// total_commands_processed, which on a shared Redis includes everyone else's), and the commands sent by
// given processes' connections (MONITOR, attributed by the local port of each connection).
import { monitorCommands, redisCli, redisPortsOf, total } from '@school/test-support/system'

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

/**
 * Starts counting now for the processes `pids` (name -> pid), between two fences in the MONITOR stream
 * (test-support's monitorCommands); each process is asked for its connections at the start too, in case
 * one closes during the window.
 */
export async function startRedisCommandWindow(pids: Record<string, number>): Promise<RedisCommandWindow> {
  const portsAtStart = await portsOf(pids)
  const log = await monitorCommands()
  const totalAtStart = await totalCommandsProcessed()
  const started = performance.now()
  return {
    async stop() {
      const wallMs = performance.now() - started
      const serverTotal = (await totalCommandsProcessed()) - totalAtStart
      await log.stop()
      const portsAtEnd = await portsOf(pids)
      const byProcess: Record<string, Record<string, number>> = {}
      const connections: Record<string, number> = {}
      let attributed = 0
      for (const name of Object.keys(pids)) {
        const ports = new Set([...(portsAtStart.get(name) ?? []), ...(portsAtEnd.get(name) ?? [])])
        connections[name] = ports.size
        const commands = Object.fromEntries(log.countBy(ports))
        attributed += total(log.countBy(ports))
        byProcess[name] = commands
      }
      return { byProcess, attributed, connections, serverTotal, wallMs }
    },
  }
}
