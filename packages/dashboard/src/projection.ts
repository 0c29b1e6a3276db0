// The dashboard counters as a projection of the school's event log: one pure delta per event, applied in
// sequence order and once per sequence number, because the row stores the last sequence it applied.
import type { PrismaClient, TransactionClient } from '@school/db'
import type { DomainEvent, SchoolMetrics } from '@school/events'
import { EMPTY_METRICS } from './metrics.js'
import { applyEvent } from './metrics-deltas.js'
import { toDomainEvent, withActor } from './event-log.js'

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

/** Locks the school's projection row, creating it empty first; null when the school does not exist. */
async function lockProjection(tx: TransactionClient, schoolId: number): Promise<ProjectionState | null> {
  // Every job of the school comes through here: the row exists after its first event, so this is
  // usually one round trip.
  let [row] = await selectForUpdate(tx, schoolId)
  if (!row) {
    await tx.$executeRaw`
      INSERT INTO school_dashboard_projections (school_id)
      SELECT id FROM schools WHERE id = ${schoolId}
      ON CONFLICT (school_id) DO NOTHING`
    ;[row] = await selectForUpdate(tx, schoolId)
  }
  if (!row) return null
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
 * Folds the log's events after `state.lastSeq` (at most `limit`, stopping at any gap) into the state.
 * Events that cannot be applied are collected as dead letters and skipped.
 */
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

async function writeProjection(tx: TransactionClient, schoolId: number, result: ProjectionAdvance): Promise<void> {
  await tx.schoolDashboardProjection.update({
    where: { schoolId },
    data: { ...result.metrics, lastSeq: result.lastSeq, updatedAt: new Date() },
  })
  if (result.deadLettered.length > 0) {
    await tx.deadLetterEvent.createMany({
      data: result.deadLettered.map(({ eventId, seq, error }) => ({ eventId, schoolId, seq, error: error.slice(0, 2000) })),
      skipDuplicates: true,
    })
  }
}

/**
 * Applies every event of the school's log the projection has not applied yet (up to `limit` per call),
 * in one transaction. Idempotent: a redelivered or out-of-order job finds nothing left to apply.
 * Null when the school does not exist.
 */
export async function advanceProjection(
  prisma: PrismaClient,
  schoolId: number,
  options: { limit?: number } = {},
): Promise<ProjectionAdvance | null> {
  return prisma.$transaction(async (tx) => {
    const state = await lockProjection(tx, schoolId)
    if (!state) return null
    const result = await foldEvents(tx, schoolId, state, options.limit ?? 500)
    if (result.lastSeq !== state.lastSeq) await writeProjection(tx, schoolId, result)
    return result
  })
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
