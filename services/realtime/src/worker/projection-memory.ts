// What this instance remembers of the schools it advanced last: each one's projection row (counters,
// last_seq, version) as its last pass left it. With the events a school's jobs carry, that is a known
// window, and a pass stores the fold without reading the row or the log first. A memory that is out of
// date (another instance or a rebuild wrote since) only costs the compare-and-set it loses.
import { LRUCache } from 'lru-cache'
import type { AdvancedProjection, EventRowWithActor, KnownWindow, ProjectionState } from '@school/dashboard'

interface RememberedRow {
  state: ProjectionState
  version: number
}

export interface ProjectionMemory {
  /** The school's remembered row and the carried events that follow it without a gap; undefined when there are none. */
  knownWindow(schoolId: number, carried: readonly EventRowWithActor[]): KnownWindow | undefined
  /** Keeps the row a pass left. */
  remember(schoolId: number, advance: AdvancedProjection): void
  /** Drops what is remembered of a school that no longer exists. */
  forget(schoolId: number): void
}

/** Remembers the `maxSchools` schools advanced most recently; the oldest is dropped first. */
export function createProjectionMemory(maxSchools: number): ProjectionMemory {
  const rows = new LRUCache<number, RememberedRow>({ max: maxSchools })
  return {
    knownWindow(schoolId, carried) {
      const row = rows.get(schoolId)
      if (!row || carried.length === 0) return undefined
      const bySeq = new Map(carried.map((event) => [event.seq, event]))
      const events: EventRowWithActor[] = []
      let next = bySeq.get(row.state.lastSeq + 1)
      while (next) {
        events.push(next)
        next = bySeq.get(next.seq + 1)
      }
      return events.length === 0 ? undefined : { state: row.state, version: row.version, events }
    },
    remember(schoolId, { metrics, lastSeq, version }) {
      // A school's passes do not overlap on this instance, so the latest pass saw the latest row.
      rows.set(schoolId, { state: { metrics, lastSeq }, version })
    },
    forget(schoolId) {
      rows.delete(schoolId)
    },
  }
}
