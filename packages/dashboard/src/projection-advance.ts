// The worker's way of applying new events to the projection: optimistic, for many schools at once. The
// folds are computed here from one read and stored by one compare-and-set on the row's version; a school
// that another write reached first is read and folded again. A caller that already knows a school's row
// and the events after it (from its own last write and the events' jobs) skips the read: the
// compare-and-set on the version it knew decides whether that knowledge was current.
import { Prisma, type PrismaClient } from '@school/db'
import { insertDeadLetters } from './dead-letters.js'
import type { EventRowWithActor } from './event-log.js'
import { foldRows, type ProjectionAdvance } from './projection-fold.js'
import {
  COUNTER_COLUMN_NAMES,
  assignCounterValues,
  assignCounters,
  counterArrays,
  projectionColumns,
  stateOfRow,
  type ProjectionRow,
  type ProjectionState,
} from './projection-row.js'

type AdvanceWindowRow = ProjectionRow & {
  school_id: number
  version: number | null
  event_id: string | null
  event_seq: number | null
  event_type: string | null
  event_actor_id: number | null
  event_payload: unknown
  event_occurred_at: Date | null
  event_enqueued_at: Date | null
  event_correlation_id: string | null
  actor_name: string | null
}

type AdvanceWindow =
  | { kind: 'no_projection' }
  | { kind: 'read'; state: ProjectionState; version: number; events: EventRowWithActor[] }

function eventOfRow(row: AdvanceWindowRow): EventRowWithActor {
  return {
    id: row.event_id!,
    schoolId: row.school_id,
    seq: row.event_seq!,
    type: row.event_type!,
    actorId: row.event_actor_id,
    payload: row.event_payload as EventRowWithActor['payload'],
    occurredAt: row.event_occurred_at!,
    enqueuedAt: row.event_enqueued_at,
    correlationId: row.event_correlation_id,
    actor: row.event_actor_id !== null && row.actor_name !== null ? { id: row.event_actor_id, name: row.actor_name } : null,
  }
}

const WINDOW_PROJECTION_COLUMNS = projectionColumns('p')

/**
 * Each school's projection and the log's next events after it, from one snapshot, in one statement for
 * all the schools; a school that does not exist has no entry.
 */
async function readAdvanceWindows(prisma: PrismaClient, schoolIds: readonly number[], limit: number): Promise<Map<number, AdvanceWindow>> {
  const rows = await prisma.$queryRaw<AdvanceWindowRow[]>`
    SELECT s.id AS school_id, p.version, ${WINDOW_PROJECTION_COLUMNS},
           e.id AS event_id, e.seq AS event_seq, e.type AS event_type, e.actor_id AS event_actor_id,
           e.payload AS event_payload, e.occurred_at AS event_occurred_at, e.enqueued_at AS event_enqueued_at,
           e.correlation_id AS event_correlation_id, u.name AS actor_name
    FROM schools s
    LEFT JOIN school_dashboard_projections p ON p.school_id = s.id
    LEFT JOIN LATERAL (
      SELECT * FROM domain_events d WHERE d.school_id = s.id AND d.seq > p.last_seq ORDER BY d.seq LIMIT ${limit}
    ) e ON true
    LEFT JOIN users u ON u.id = e.actor_id
    WHERE s.id = ANY(${schoolIds}::int[])
    ORDER BY s.id, e.seq`
  const windows = new Map<number, AdvanceWindow>()
  for (const row of rows) {
    let window = windows.get(row.school_id)
    if (!window) {
      window = row.version === null ? { kind: 'no_projection' } : { kind: 'read', state: stateOfRow(row), version: row.version, events: [] }
      windows.set(row.school_id, window)
    }
    if (window.kind === 'read' && row.event_id !== null) window.events.push(eventOfRow(row))
  }
  return windows
}

/** What a caller knows of a school without reading it: its row at a version, and events of the log after it. */
export interface KnownWindow {
  state: ProjectionState
  version: number
  /** Events of the log from `state.lastSeq + 1` on, in order. */
  events: EventRowWithActor[]
}

/** An advance and the row it leaves: what a later advance of the school may start from. */
export interface AdvancedProjection extends ProjectionAdvance {
  /** The row's version after this advance. */
  version: number
  /** True when the pass read the school's row and log; false when a known window was enough. */
  read: boolean
}

/** A known window's fold, when it applies every event it holds: any gap or dead letter is the log's to settle. */
function foldKnown(window: KnownWindow): ProjectionAdvance | null {
  if (window.events.length === 0) return null
  const result = foldRows(window.state, window.events)
  return result.applied.length === window.events.length ? result : null
}

interface ProjectionWrite {
  schoolId: number
  /** The version the fold was computed from. */
  version: number
  result: ProjectionAdvance
  read: boolean
}

/**
 * Stores each advance whose row is still at the version it was read at, with its dead letters, in one
 * statement for all of them; returns the schools written (the others had another write come first). The
 * rows are locked in school order, so two instances writing overlapping sets wait for each other instead
 * of deadlocking.
 */
async function compareAndWrite(prisma: PrismaClient, writes: readonly ProjectionWrite[]): Promise<Set<number>> {
  const [only, ...more] = writes
  if (only && more.length === 0 && only.result.deadLettered.length === 0) return compareAndWriteOne(prisma, only)
  const dead = writes.flatMap((w) => w.result.deadLettered.map((d) => ({ ...d, schoolId: w.schoolId })))
  const rows = await prisma.$queryRaw<Array<{ school_id: number }>>`
    WITH input AS (
      SELECT * FROM unnest(
        ${writes.map((w) => w.schoolId)}::int[], ${writes.map((w) => w.version)}::int[], ${writes.map((w) => w.result.lastSeq)}::int[],
        ${counterArrays(writes.map((w) => w.result))}
      ) AS i(school_id, version, last_seq, ${COUNTER_COLUMN_NAMES})
    ),
    locked AS MATERIALIZED (
      SELECT p.school_id FROM school_dashboard_projections p JOIN input i ON i.school_id = p.school_id AND i.version = p.version
      ORDER BY p.school_id FOR UPDATE OF p
    ),
    written AS (
      UPDATE school_dashboard_projections p SET
        last_seq = i.last_seq, ${assignCounters('i')}, version = p.version + 1, updated_at = now()
      FROM input i
      WHERE p.school_id = i.school_id AND p.version = i.version AND p.school_id IN (SELECT school_id FROM locked)
      RETURNING p.school_id
    ),
    dead AS (${insertDeadLetters(dead, Prisma.sql`SELECT school_id FROM written`)})
    SELECT school_id FROM written`
  return new Set(rows.map((row) => row.school_id))
}

/**
 * The same compare-and-set for a single school with no dead letters, the usual pass when events are spread
 * over many schools: one plain conditional UPDATE (the row lock it takes is the only one), about half the
 * round trip of the general statement with its unnest, lock and data-modifying CTEs (docs/BENCHMARKS.md).
 */
async function compareAndWriteOne(prisma: PrismaClient, write: ProjectionWrite): Promise<Set<number>> {
  const { schoolId, version, result } = write
  const rows = await prisma.$queryRaw<Array<{ school_id: number }>>`
    UPDATE school_dashboard_projections
    SET last_seq = ${result.lastSeq}::int, ${assignCounterValues(result.metrics)}, version = version + 1, updated_at = now()
    WHERE school_id = ${schoolId}::int AND version = ${version}::int
    RETURNING school_id`
  return new Set(rows.map((row) => row.school_id))
}

/**
 * Applies every event of each school's log its projection has not applied yet (up to `limit` per school
 * per call), with one read statement and one write statement for all the schools. Idempotent: a
 * redelivered or out-of-order job finds nothing left to apply. Optimistic: the folds are computed here and
 * a compare-and-set stores them; a school another advance (or a rebuild) wrote first is read and folded
 * again, and what the other one applied is the other one's to broadcast. A school with a `known` window
 * whose events all fold is not read: its write alone is the pass (the events after the window, if any,
 * are left to a later pass). A school that does not exist has no entry in the result.
 */
export async function advanceProjections(
  prisma: PrismaClient,
  schoolIds: readonly number[],
  options: { limit?: number; known?: ReadonlyMap<number, KnownWindow> } = {},
): Promise<Map<number, AdvancedProjection>> {
  const limit = options.limit ?? 500
  const advanced = new Map<number, AdvancedProjection>()
  let pending = [...new Set(schoolIds)]
  let known = options.known
  while (pending.length > 0) {
    const writes: ProjectionWrite[] = []
    const toRead: number[] = []
    for (const schoolId of pending) {
      const window = known?.get(schoolId)
      const result = window && foldKnown(window)
      if (result) writes.push({ schoolId, version: window.version, result, read: false })
      else toRead.push(schoolId)
    }
    // What the known windows said is only tried once: a school that lost its write is read.
    known = undefined
    const windows = toRead.length > 0 ? await readAdvanceWindows(prisma, toRead, limit) : new Map<number, AdvanceWindow>()
    const missing: number[] = []
    for (const [schoolId, window] of windows) {
      if (window.kind === 'no_projection') {
        missing.push(schoolId)
        continue
      }
      const result = foldRows(window.state, window.events)
      if (result.lastSeq === window.state.lastSeq) advanced.set(schoolId, { ...result, version: window.version, read: true })
      else writes.push({ schoolId, version: window.version, result, read: true })
    }
    const written = writes.length > 0 ? await compareAndWrite(prisma, writes) : new Set<number>()
    for (const write of writes) {
      if (written.has(write.schoolId)) advanced.set(write.schoolId, { ...write.result, version: write.version + 1, read: write.read })
    }
    if (missing.length > 0) {
      await prisma.$executeRaw`
        INSERT INTO school_dashboard_projections (school_id) SELECT unnest(${missing}::int[]) ON CONFLICT (school_id) DO NOTHING`
    }
    pending = [...missing, ...writes.filter((w) => !written.has(w.schoolId)).map((w) => w.schoolId)]
  }
  return advanced
}
