// The projection recomputed from a school's whole log: to check it (foldLog) or to store it over what the
// row holds (rebuildProjections, for an operator after a fix), under the row's lock so that a running worker
// waits rather than interleaves.
import type { PrismaClient, TransactionClient } from '@school/db'
import { insertDeadLetters, type DeadLetter } from './dead-letters.js'
import { withActor } from './event-log.js'
import { EMPTY_METRICS } from './metrics.js'
import { foldRows } from './projection-fold.js'
import { projectionColumns, stateOfRow, type ProjectionRow, type ProjectionState } from './projection-row.js'

/** Events read from the log per query. */
const REBUILD_BATCH = 1000

type WholeLogFold = ProjectionState & { deadLettered: DeadLetter[] }

/** Folds a school's whole log from nothing, a batch of events at a time, inside a transaction. */
async function foldWholeLog(tx: TransactionClient, schoolId: number): Promise<WholeLogFold> {
  let state: ProjectionState = { metrics: { ...EMPTY_METRICS }, lastSeq: 0 }
  const deadLettered: DeadLetter[] = []
  for (;;) {
    const rows = await tx.domainEvent.findMany({
      where: { schoolId, seq: { gt: state.lastSeq } },
      orderBy: { seq: 'asc' },
      take: REBUILD_BATCH,
      include: withActor,
    })
    const step = foldRows(state, rows)
    if (step.lastSeq === state.lastSeq) break
    deadLettered.push(...step.deadLettered)
    state = { metrics: step.metrics, lastSeq: step.lastSeq }
  }
  return { metrics: state.metrics, lastSeq: state.lastSeq, deadLettered }
}

/** Folds a school's whole log from nothing, without writing: what the projection must equal. */
export async function foldLog(prisma: PrismaClient, schoolId: number): Promise<WholeLogFold> {
  return prisma.$transaction((tx) => foldWholeLog(tx, schoolId))
}

/** Locks the row and reads it in one statement; no row yet is an empty result. */
function selectForUpdate(tx: TransactionClient, schoolId: number) {
  return tx.$queryRaw<ProjectionRow[]>`
    SELECT ${projectionColumns()} FROM school_dashboard_projections WHERE school_id = ${schoolId} FOR UPDATE`
}

/** Locks the school's projection row, creating it empty first; null when the school does not exist. */
async function lockProjection(tx: TransactionClient, schoolId: number): Promise<ProjectionState | null> {
  let [row] = await selectForUpdate(tx, schoolId)
  if (!row) {
    await tx.$executeRaw`
      INSERT INTO school_dashboard_projections (school_id)
      SELECT id FROM schools WHERE id = ${schoolId}
      ON CONFLICT (school_id) DO NOTHING`
    ;[row] = await selectForUpdate(tx, schoolId)
  }
  return row ? stateOfRow(row) : null
}

/** Stores the fold over the locked row (a new version, as every write makes) and records its dead letters. */
async function writeProjection(tx: TransactionClient, schoolId: number, fold: WholeLogFold): Promise<void> {
  await tx.schoolDashboardProjection.update({
    where: { schoolId },
    data: { ...fold.metrics, lastSeq: fold.lastSeq, version: { increment: 1 }, updatedAt: new Date() },
  })
  if (fold.deadLettered.length > 0) {
    await tx.$executeRaw(insertDeadLetters(fold.deadLettered.map((letter) => ({ ...letter, schoolId }))))
  }
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
        const fold = await foldWholeLog(tx, schoolId)
        await writeProjection(tx, schoolId, fold)
        const changed = before.lastSeq !== fold.lastSeq || JSON.stringify(before.metrics) !== JSON.stringify(fold.metrics)
        return { schoolId, metrics: fold.metrics, lastSeq: fold.lastSeq, changed }
      },
      { timeout: 60_000 },
    )
    if (result) rebuilt.push(result)
  }
  return rebuilt
}
