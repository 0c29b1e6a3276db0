// One step of the projection, shared by the advance and the rebuild: the log's rows after a state's
// sequence folded into it, one pure delta per event, in sequence order, stopping at the first gap.
import type { DomainEvent } from '@school/events'
import { deadLetterOf, type DeadLetter } from './dead-letters.js'
import { toDomainEvent, type EventRowWithActor } from './event-log.js'
import { applyEvent } from './metrics-deltas.js'
import type { ProjectionState } from './projection-row.js'

export interface ProjectionAdvance extends ProjectionState {
  /** The events applied now, in order; empty when the projection was already up to date. */
  applied: DomainEvent[]
  /** Events skipped now because they can never be applied; recorded in `dead_letter_events`. */
  deadLettered: DeadLetter[]
}

/**
 * Folds events read from the log after `state.lastSeq` into the state, stopping at any gap. Events that
 * cannot be applied are collected as dead letters and skipped.
 */
export function foldRows(state: ProjectionState, rows: readonly EventRowWithActor[]): ProjectionAdvance {
  let { metrics, lastSeq } = state
  const applied: DomainEvent[] = []
  const deadLettered: DeadLetter[] = []
  for (const row of rows) {
    // Sequence numbers are taken under the school's row lock and commit in order, so a gap means an
    // event that is not visible yet: stop there and let a later pass pick it up.
    if (row.seq !== lastSeq + 1) break
    try {
      const event = toDomainEvent(row)
      metrics = applyEvent(metrics, event)
      applied.push(event)
    } catch (error) {
      deadLettered.push(deadLetterOf(row, error))
    }
    lastSeq = row.seq
  }
  return { metrics, lastSeq, applied, deadLettered }
}
