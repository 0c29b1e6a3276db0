// Measures how busy the load generator (this process) was during a measured window: a generator that is
// itself saturated measures its own limits, not the server's, so such a run is void.
import { cpuUsage, hrtime } from 'node:process'

/** Above this share of one core the generator counts as saturated. */
export const GENERATOR_SATURATION = 0.9

export interface CpuWindow {
  /** Share of one core used by this process over the window (user + system). */
  share: number
  wallMs: number
}

export function startCpuWindow(): () => CpuWindow {
  const startUsage = cpuUsage()
  const startWall = hrtime.bigint()
  return () => {
    const used = cpuUsage(startUsage)
    const wallUs = Number(hrtime.bigint() - startWall) / 1000
    return { share: wallUs > 0 ? (used.user + used.system) / wallUs : 0, wallMs: wallUs / 1000 }
  }
}
