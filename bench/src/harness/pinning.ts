// CPU pinning and file-descriptor limits: servers run on one core, the load generator (this process) on
// another, so neither steals the other's cycles; both get enough descriptors for tens of thousands of sockets.
import { execFileSync } from 'node:child_process'
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
  nofile: number | null
}

let report: PinningReport | undefined

/** Pins this process (all its threads) to the generator core and raises its descriptor limit. */
export function pinGenerator(): PinningReport {
  if (report) return report
  const pinned = hasCommand('taskset') && availableParallelism() > 1
  if (pinned) execFileSync('taskset', ['-a', '-pc', String(GENERATOR_CPU), String(process.pid)], { stdio: 'ignore' })
  let nofile: number | null = null
  if (hasCommand('prlimit')) {
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${NOFILE}:${NOFILE}`], { stdio: 'ignore' })
      nofile = NOFILE
    } catch {
      // Not root: keep the inherited limit; large client counts may then fail with EMFILE.
      nofile = null
    }
  }
  report = { pinned, serverCpu: SERVER_CPU, generatorCpu: GENERATOR_CPU, nofile }
  return report
}

/** The argv that runs `command` on the server core with a raised descriptor limit (both exec in place). */
export function onServerCore(command: string[]): string[] {
  const state = pinGenerator()
  const limited = state.nofile === null ? command : ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, ...command]
  return state.pinned ? ['taskset', '-c', String(SERVER_CPU), ...limited] : limited
}
