// Throttles metrics_update per school: the first change goes out at once, later ones in the same window
// collapse into the newest, sent when the window ends. Activity messages are never coalesced.
import type { ProjectionState } from '@school/dashboard'

export interface MetricsCoalescer {
  /** Records the school's newest counters; publishes now or at the end of the current window. */
  update(schoolId: number, state: ProjectionState): void
  /** Publishes what is pending and stops the timers. */
  flush(): void
}

interface Window {
  timer: NodeJS.Timeout
  pending: ProjectionState | null
  lastSentSeq: number
}

export function createMetricsCoalescer(windowMs: number, publish: (schoolId: number, state: ProjectionState) => void): MetricsCoalescer {
  const windows = new Map<number, Window>()

  const open = (schoolId: number, sentSeq: number): void => {
    const window: Window = {
      pending: null,
      lastSentSeq: sentSeq,
      timer: setTimeout(() => {
        windows.delete(schoolId)
        if (window.pending) {
          publish(schoolId, window.pending)
          open(schoolId, window.pending.lastSeq)
        }
      }, windowMs),
    }
    window.timer.unref()
    windows.set(schoolId, window)
  }

  return {
    update(schoolId, state) {
      if (windowMs === 0) return publish(schoolId, state)
      const window = windows.get(schoolId)
      if (!window) {
        publish(schoolId, state)
        return open(schoolId, state.lastSeq)
      }
      // Jobs may finish out of order across workers; never hold back a newer state for an older one.
      if (state.lastSeq > (window.pending?.lastSeq ?? window.lastSentSeq)) window.pending = state
    },
    flush() {
      for (const [schoolId, window] of windows) {
        clearTimeout(window.timer)
        if (window.pending) publish(schoolId, window.pending)
      }
      windows.clear()
    },
  }
}
