// CPU pinning and file-descriptor limits: servers run on one core, the load generator (this process) on
// another, so neither steals the other's cycles; both get enough descriptors for tens of thousands of sockets.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

export const SERVER_CPU = 0
export const GENERATOR_CPU = 1
/** Descriptors each bench process asks for; 40,000 connections need more than the usual 20,000. */
export const NOFILE = 131_072

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export interface PinningReport {
  /** False when taskset is missing or the machine has a single core: the run is then not pinned. */
  pinned: boolean
  serverCpu: number
  generatorCpu: number
  /** The descriptor limit this process got: NOFILE, or the inherited one where it may not be raised. */
  nofile: number | null
}

/** This process's soft RLIMIT_NOFILE, from /proc (null where there is no /proc). */
export function descriptorLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    return soft === undefined || soft === 'unlimited' ? null : Number(soft)
  } catch {
    return null
  }
}

let report: PinningReport | undefined

/** Pins this process (all its threads) to the generator core and raises its descriptor limit. */
export function pinGenerator(): PinningReport {
  if (report) return report
  const pinned = hasCommand('taskset') && availableParallelism() > 1
  if (pinned) execFileSync('taskset', ['-a', '-pc', String(GENERATOR_CPU), String(process.pid)], { stdio: 'ignore' })
  let raised = false
  if (hasCommand('prlimit')) {
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${NOFILE}:${NOFILE}`], { stdio: 'ignore' })
      raised = true
    } catch {
      // Not allowed above the hard limit (no CAP_SYS_RESOURCE, e.g. in a container): the inherited limit
      // stays, for the servers too, and bounds the connections a scenario can open.
    }
  }
  report = { pinned, serverCpu: SERVER_CPU, generatorCpu: GENERATOR_CPU, nofile: raised ? NOFILE : descriptorLimit() }
  return report
}

/** The argv that runs `command` on the server core with a raised descriptor limit (both exec in place). */
export function onServerCore(command: string[]): string[] {
  const state = pinGenerator()
  const limited = state.nofile === NOFILE ? ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, ...command] : command
  return state.pinned ? ['taskset', '-c', String(SERVER_CPU), ...limited] : limited
}

/** Descriptors kept free in each process for its database, Redis and log files. */
const DESCRIPTOR_HEADROOM = 1_000

/**
 * The connections a scenario can open when each costs `perConnection` descriptors in one process (a
 * server: 1; haproxy: 2, client and server side), in whole `step`s: `wanted` where the limit allows it.
 */
export function connectionsWithinDescriptors(wanted: number, perConnection: number, step: number): { connections: number; limit: number | null } {
  const limit = pinGenerator().nofile
  if (limit === null || wanted * perConnection + DESCRIPTOR_HEADROOM <= limit) return { connections: wanted, limit }
  return { connections: Math.max(step, Math.floor((limit - DESCRIPTOR_HEADROOM) / perConnection / step) * step), limit }
}
