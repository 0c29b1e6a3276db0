// The whole machine's CPU use, every process and core together (os.cpus() times), as a number of busy
// cores: what the servers' own probes cannot see, e.g. PostgreSQL's autovacuum or a checkpoint running
// when a measured window begins.
import { cpus } from 'node:os'

interface CpuTimes {
  busyMs: number
  totalMs: number
}

function machineTimes(): CpuTimes {
  let busyMs = 0
  let totalMs = 0
  for (const { times } of cpus()) {
    const total = times.user + times.nice + times.sys + times.irq + times.idle
    totalMs += total
    busyMs += total - times.idle
  }
  return { busyMs, totalMs }
}

/** Busy cores of the whole machine over the next `ms` milliseconds (0 .. the number of cores). */
export async function machineBusyCores(ms = 250): Promise<number> {
  const before = machineTimes()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const after = machineTimes()
  const total = after.totalMs - before.totalMs
  if (total <= 0) return 0
  return ((after.busyMs - before.busyMs) / total) * cpus().length
}
