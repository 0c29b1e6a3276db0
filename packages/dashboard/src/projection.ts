// The dashboard counters as a projection of the school's event log: one pure delta per event, applied in
// sequence order and once per sequence number, because the row stores the last sequence it applied.
import type { PrismaClient, TransactionClient } from '@school/db'
import type { DomainEvent, SchoolMetrics } from '@school/events'
import { EMPTY_METRICS } from './metrics.js'
import { applyEvent } from './metrics-deltas.js'
import { toDomainEvent, withActor, type EventRowWithActor } from './event-log.js'

export interface ProjectionState {
  metrics: SchoolMetrics
  /** Sequence of the last event the counters include. */
  lastSeq: number
}

export interface DeadLetter {
  eventId: string
  seq: number
  error: string
}

export interface ProjectionAdvance extends ProjectionState {
  /** The events applied now, in order; empty when the projection was already up to date. */
  applied: DomainEvent[]
  /** Events skipped now because they can never be applied; recorded in `dead_letter_events`. */
  deadLettered: DeadLetter[]
}

type Counter = keyof SchoolMetrics
type ProjectionRow = SchoolMetrics & { lastSeq: number }

function stateOf(row: ProjectionRow): ProjectionState {
  const { lastSeq, ...counters } = row
  const metrics = { ...EMPTY_METRICS }
  for (const key of Object.keys(EMPTY_METRICS) as Counter[]) metrics[key] = counters[key]
  return { metrics, lastSeq }
}

const COUNTER_SELECT = {
  lastSeq: true,
  students: true,
  teachers: true,
  admins: true,
  classes: true,
  pendingInvitations: true,
  acceptedInvitations: true,
  declinedInvitations: true,
  cancelledInvitations: true,
  expiredInvitations: true,
} as const

interface ProjectionLockRow {
  last_seq: number
  students: number
  teachers: number
  admins: number
  classes: number
  pending_invitations: number
  accepted_invitations: number
  declined_invitations: number
  cancelled_invitations: number
  expired_invitations: number
}

/** Locks the row and reads it in one statement; no row yet is an empty result. */
function selectForUpdate(tx: TransactionClient, schoolId: number) {
  return tx.$queryRaw<ProjectionLockRow[]>`
    SELECT last_seq, students, teachers, admins, classes, pending_invitations, accepted_invitations,
           declined_invitations, cancelled_invitations, expired_invitations
    FROM school_dashboard_projections WHERE school_id = ${schoolId} FOR UPDATE`
}

/** Locks the school's projection row (for a rebuild), creating it empty first; null when the school does not exist. */
async function lockProjection(tx: TransactionClient, schoolId: number): Promise<ProjectionState | null> {
  let [row] = await selectForUpdate(tx, schoolId)
  if (!row) {
    await tx.$executeRaw`
      INSERT INTO school_dashboard_projections (school_id)
      SELECT id FROM schools WHERE id = ${schoolId}
      ON CONFLICT (school_id) DO NOTHING`
    ;[row] = await selectForUpdate(tx, schoolId)
  }
  return row ? stateOfLockRow(row) : null
}

function stateOfLockRow(row: ProjectionLockRow): ProjectionState {
  return stateOf({
    lastSeq: row.last_seq,
    students: row.students,
    teachers: row.teachers,
    admins: row.admins,
    classes: row.classes,
    pendingInvitations: row.pending_invitations,
    acceptedInvitations: row.accepted_invitations,
    declinedInvitations: row.declined_invitations,
    cancelledInvitations: row.cancelled_invitations,
    expiredInvitations: row.expired_invitations,
  })
}

/**
 * Folds events read from the log after `state.lastSeq` into the state, stopping at any gap. Events that
 * cannot be applied are collected as dead letters and skipped.
 */
function foldRows(state: ProjectionState, rows: readonly EventRowWithActor[]): ProjectionAdvance {
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
      deadLettered.push({ eventId: row.id, seq: row.seq, error: error instanceof Error ? error.message : String(error) })
    }
    lastSeq = row.seq
  }
  return { metrics, lastSeq, applied, deadLettered }
}

/** Folds the log's events after `state.lastSeq` (at most `limit`) into the state, inside a transaction. */
async function foldEvents(
  tx: TransactionClient,
  schoolId: number,
  state: ProjectionState,
  limit: number,
): Promise<ProjectionAdvance> {
  const rows = await tx.domainEvent.findMany({
    where: { schoolId, seq: { gt: state.lastSeq } },
    orderBy: { seq: 'asc' },
    take: limit,
    include: withActor,
  })
  return foldRows(state, rows)
}

async function writeProjection(tx: TransactionClient, schoolId: number, result: ProjectionAdvance): Promise<void> {
  await tx.schoolDashboardProjection.update({
    where: { schoolId },
    data: { ...result.metrics, lastSeq: result.lastSeq, version: { increment: 1 }, updatedAt: new Date() },
  })
  if (result.deadLettered.length > 0) {
    await tx.deadLetterEvent.createMany({
      data: result.deadLettered.map(({ eventId, seq, error }) => ({ eventId, schoolId, seq, error: error.slice(0, 2000) })),
      skipDuplicates: true,
    })
  }
}

interface AdvanceWindowRow extends ProjectionLockRow {
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

/**
 * Each school's projection and the log's next events after it, from one snapshot, in one statement for
 * all the schools; a school that does not exist has no entry.
 */
async function readAdvanceWindows(prisma: PrismaClient, schoolIds: readonly number[], limit: number): Promise<Map<number, AdvanceWindow>> {
  const rows = await prisma.$queryRaw<AdvanceWindowRow[]>`
    SELECT s.id AS school_id, p.version, p.last_seq, p.students, p.teachers, p.admins, p.classes,
           p.pending_invitations, p.accepted_invitations, p.declined_invitations, p.cancelled_invitations,
           p.expired_invitations,
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
      window = row.version === null ? { kind: 'no_projection' } : { kind: 'read', state: stateOfLockRow(row), version: row.version, events: [] }
      windows.set(row.school_id, window)
    }
    if (window.kind === 'read' && row.event_id !== null) window.events.push(eventOfRow(row))
  }
  return windows
}

interface ProjectionWrite {
  schoolId: number
  /** The version the fold was computed from. */
  version: number
  result: ProjectionAdvance
}

/**
 * Stores each advance whose row is still at the version it was read at, with its dead letters, in one
 * statement for all of them; returns the schools written (the others had another write come first). The
 * rows are locked in school order, so two instances writing overlapping sets wait for each other instead
 * of deadlocking.
 */
async function compareAndWrite(prisma: PrismaClient, writes: readonly ProjectionWrite[]): Promise<Set<number>> {
  const column = (pick: (write: ProjectionWrite) => number) => writes.map(pick)
  const metric = (key: Counter) => column((w) => w.result.metrics[key])
  const dead = writes.flatMap((w) => w.result.deadLettered.map((d) => ({ ...d, schoolId: w.schoolId })))
  const rows = await prisma.$queryRaw<Array<{ school_id: number }>>`
    WITH input AS (
      SELECT * FROM unnest(
        ${column((w) => w.schoolId)}::int[], ${column((w) => w.version)}::int[], ${column((w) => w.result.lastSeq)}::int[],
        ${metric('students')}::int[], ${metric('teachers')}::int[], ${metric('admins')}::int[], ${metric('classes')}::int[],
        ${metric('pendingInvitations')}::int[], ${metric('acceptedInvitations')}::int[], ${metric('declinedInvitations')}::int[],
        ${metric('cancelledInvitations')}::int[], ${metric('expiredInvitations')}::int[]
      ) AS i(school_id, version, last_seq, students, teachers, admins, classes, pending_invitations,
             accepted_invitations, declined_invitations, cancelled_invitations, expired_invitations)
    ),
    locked AS MATERIALIZED (
      SELECT p.school_id FROM school_dashboard_projections p JOIN input i ON i.school_id = p.school_id AND i.version = p.version
      ORDER BY p.school_id FOR UPDATE OF p
    ),
    written AS (
      UPDATE school_dashboard_projections p SET
        last_seq = i.last_seq, students = i.students, teachers = i.teachers, admins = i.admins, classes = i.classes,
        pending_invitations = i.pending_invitations, accepted_invitations = i.accepted_invitations,
        declined_invitations = i.declined_invitations, cancelled_invitations = i.cancelled_invitations,
        expired_invitations = i.expired_invitations, version = p.version + 1, updated_at = now()
      FROM input i
      WHERE p.school_id = i.school_id AND p.version = i.version AND p.school_id IN (SELECT school_id FROM locked)
      RETURNING p.school_id
    ),
    dead AS (
      INSERT INTO dead_letter_events (event_id, school_id, seq, error)
      SELECT d.event_id, d.school_id, d.seq, d.error
      FROM unnest(${dead.map((d) => d.eventId)}::uuid[], ${dead.map((d) => d.schoolId)}::int[], ${dead.map((d) => d.seq)}::int[],
                  ${dead.map((d) => d.error.slice(0, 2000))}::text[]) AS d(event_id, school_id, seq, error)
      WHERE d.school_id IN (SELECT school_id FROM written)
      ON CONFLICT (event_id) DO NOTHING
    )
    SELECT school_id FROM written`
  return new Set(rows.map((row) => row.school_id))
}

/**
 * Applies every event of each school's log its projection has not applied yet (up to `limit` per school
 * per call), with one read statement and one write statement for all the schools. Idempotent: a
 * redelivered or out-of-order job finds nothing left to apply. Optimistic: the folds are computed here and
 * a compare-and-set stores them; a school another advance (or a rebuild) wrote first is read and folded
 * again, and what the other one applied is the other one's to broadcast. A school that does not exist has
 * no entry in the result.
 */
export async function advanceProjections(
  prisma: PrismaClient,
  schoolIds: readonly number[],
  options: { limit?: number } = {},
): Promise<Map<number, ProjectionAdvance>> {
  const limit = options.limit ?? 500
  const advanced = new Map<number, ProjectionAdvance>()
  let pending = [...new Set(schoolIds)]
  while (pending.length > 0) {
    const windows = await readAdvanceWindows(prisma, pending, limit)
    const missing: number[] = []
    const writes: ProjectionWrite[] = []
    for (const [schoolId, window] of windows) {
      if (window.kind === 'no_projection') {
        missing.push(schoolId)
        continue
      }
      const result = foldRows(window.state, window.events)
      if (result.lastSeq === window.state.lastSeq) advanced.set(schoolId, result)
      else writes.push({ schoolId, version: window.version, result })
    }
    const written = writes.length > 0 ? await compareAndWrite(prisma, writes) : new Set<number>()
    for (const write of writes) if (written.has(write.schoolId)) advanced.set(write.schoolId, write.result)
    if (missing.length > 0) {
      await prisma.$executeRaw`
        INSERT INTO school_dashboard_projections (school_id) SELECT unnest(${missing}::int[]) ON CONFLICT (school_id) DO NOTHING`
    }
    pending = [...missing, ...writes.filter((w) => !written.has(w.schoolId)).map((w) => w.schoolId)]
  }
  return advanced
}

/** `advanceProjections` for one school; null when the school does not exist. */
export async function advanceProjection(
  prisma: PrismaClient,
  schoolId: number,
  options: { limit?: number } = {},
): Promise<ProjectionAdvance | null> {
  return (await advanceProjections(prisma, [schoolId], options)).get(schoolId) ?? null
}

/** The stored counters and the sequence they reflect; zeros before the first event. */
export async function readProjection(prisma: PrismaClient, schoolId: number): Promise<ProjectionState> {
  const row = await prisma.schoolDashboardProjection.findUnique({ where: { schoolId }, select: COUNTER_SELECT })
  return row ? stateOf(row) : { metrics: { ...EMPTY_METRICS }, lastSeq: 0 }
}

const REBUILD_BATCH = 1000

/** Folds a school's whole log from nothing, without writing: what the projection must equal. */
export async function foldLog(prisma: PrismaClient, schoolId: number): Promise<ProjectionState & { deadLettered: DeadLetter[] }> {
  return prisma.$transaction(async (tx) => {
    let state: ProjectionState = { metrics: { ...EMPTY_METRICS }, lastSeq: 0 }
    const deadLettered: DeadLetter[] = []
    for (;;) {
      const step = await foldEvents(tx, schoolId, state, REBUILD_BATCH)
      deadLettered.push(...step.deadLettered)
      if (step.lastSeq === state.lastSeq) break
      state = step
    }
    return { metrics: state.metrics, lastSeq: state.lastSeq, deadLettered }
  })
}

export interface RebuiltProjection extends ProjectionState {
  schoolId: number
  /** Whether the stored projection differed from the fold of the log before the rebuild. */
  changed: boolean
}

/**
 * Recomputes each school's projection from its whole log and stores it, under the projection's row
 * lock so a running worker waits rather than interleaves.
 */
export async function rebuildProjections(prisma: PrismaClient, schoolIds?: readonly number[]): Promise<RebuiltProjection[]> {
  const ids = schoolIds ?? (await prisma.school.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((s) => s.id)
  const rebuilt: RebuiltProjection[] = []
  for (const schoolId of ids) {
    const result = await prisma.$transaction(
      async (tx) => {
        const before = await lockProjection(tx, schoolId)
        if (!before) return null
        let state: ProjectionAdvance = { metrics: { ...EMPTY_METRICS }, lastSeq: 0, applied: [], deadLettered: [] }
        for (;;) {
          const step = await foldEvents(tx, schoolId, state, REBUILD_BATCH)
          if (step.lastSeq === state.lastSeq) break
          state = { ...step, deadLettered: [...state.deadLettered, ...step.deadLettered] }
        }
        await writeProjection(tx, schoolId, state)
        const changed = before.lastSeq !== state.lastSeq || JSON.stringify(before.metrics) !== JSON.stringify(state.metrics)
        return { schoolId, metrics: state.metrics, lastSeq: state.lastSeq, changed }
      },
      { timeout: 60_000 },
    )
    if (result) rebuilt.push(result)
  }
  return rebuilt
}
