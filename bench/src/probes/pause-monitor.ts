// What kept a server's event loop from running, between two readings: how late the loop's own 10 ms timer
// fired (Node's event-loop delay monitor, the resolution of the services' nodejs_eventloop_lag_* gauges;
// the monitor records the whole interval, so the interval itself is taken off) and the garbage collector's
// pauses. The probe reads it with every sample, so a measured window's figures are those of the probe after it.
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'

/**
 * The monitor's sampling interval: a stall shorter than this may fall between two samples. A reading
 * restarts it, and the interval in which a reading falls is not sampled.
 */
export const LOOP_DELAY_RESOLUTION_MS = 10

export interface Pauses {
  /** How late the timer fired, over the samples since the previous reading (NaN when none was taken). */
  loopP99Ms: number
  loopMaxMs: number
  /** Garbage collections since the previous reading, their total and their longest pause. */
  gcCount: number
  gcMs: number
  gcMaxMs: number
  /** What the longest pause was: a scavenge of the young generation ('minor'), a full mark-compact ('major'), ... */
  gcMaxKind: GcKind | null
}

export type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb'

const GC_KINDS: ReadonlyMap<number, GcKind> = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
])

export interface PauseMonitor {
  /** The pauses since the previous call (or since the start), and starts counting again. */
  take(): Pauses
  stop(): void
}

export function startPauseMonitor(): PauseMonitor {
  const loop = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  loop.enable()
  let gcCount = 0
  let gcMs = 0
  let gcMaxMs = 0
  let gcMaxKind: GcKind | null = null
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as PerformanceEntry[]) {
      gcCount++
      gcMs += entry.duration
      if (entry.duration > gcMaxMs) {
        gcMaxMs = entry.duration
        gcMaxKind = GC_KINDS.get((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1) ?? null
      }
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  return {
    take() {
      const late = (ns: number) => (loop.count > 0 ? Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) : Number.NaN)
      const pauses: Pauses = {
        loopP99Ms: late(loop.percentile(99)),
        loopMaxMs: late(loop.max),
        gcCount,
        gcMs,
        gcMaxMs,
        gcMaxKind,
      }
      loop.reset()
      gcCount = 0
      gcMs = 0
      gcMaxMs = 0
      gcMaxKind = null
      return pauses
    },
    stop() {
      loop.disable()
      observer.disconnect()
    },
  }
}
