// A school_dashboard_projections row as the counters it stores: the columns are derived from SchoolMetrics
// (each counter under its snake_case name, as prisma/schema.prisma maps it), so every statement of the
// projection names them through the lists here, and a counter added to the type reaches them all.
import { Prisma, type PrismaClient } from '@school/db'
import type { SchoolMetrics } from '@school/events'
import { EMPTY_METRICS } from './metrics.js'

export interface ProjectionState {
  metrics: SchoolMetrics
  /** Sequence of the last event the counters include. */
  lastSeq: number
}

type Counter = keyof SchoolMetrics
type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S
type CounterColumn = SnakeCase<Counter>

/** A row as raw SQL returns it: `last_seq` and a column per counter. */
export type ProjectionRow = { last_seq: number } & { [C in CounterColumn]: number }

function columnOf<C extends Counter>(counter: C): SnakeCase<C> {
  return counter.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) as SnakeCase<C>
}

/** Every counter with its column, in the order of SchoolMetrics. */
const COUNTER_COLUMNS = (Object.keys(EMPTY_METRICS) as Counter[]).map((counter) => ({ counter, column: columnOf(counter) }))

/** `last_seq` and the counter columns, each qualified by `alias` when given: a select list for ProjectionRow. */
export function projectionColumns(alias?: string): Prisma.Sql {
  const qualify = (column: string) => (alias ? `${alias}.${column}` : column)
  return Prisma.raw(['last_seq', ...COUNTER_COLUMNS.map(({ column }) => column)].map(qualify).join(', '))
}

export function stateOfRow(row: ProjectionRow): ProjectionState {
  const metrics = { ...EMPTY_METRICS }
  for (const { counter, column } of COUNTER_COLUMNS) metrics[counter] = row[column]
  return { metrics, lastSeq: row.last_seq }
}

/** The counter columns' names, in the order of counterArrays: the column list of an `unnest(...) AS i(...)`. */
export const COUNTER_COLUMN_NAMES: Prisma.Sql = Prisma.raw(COUNTER_COLUMNS.map(({ column }) => column).join(', '))

/** One `int[]` parameter per counter, holding that counter of each state in turn: arguments of `unnest`. */
export function counterArrays(states: readonly ProjectionState[]): Prisma.Sql {
  return Prisma.join(COUNTER_COLUMNS.map(({ counter }) => Prisma.sql`${states.map((state) => state.metrics[counter])}::int[]`))
}

/** `students = <n>, ...`: the SET list that stores `metrics`, each counter a parameter. */
export function assignCounterValues(metrics: SchoolMetrics): Prisma.Sql {
  return Prisma.join(COUNTER_COLUMNS.map(({ counter, column }) => Prisma.sql`${Prisma.raw(column)} = ${metrics[counter]}::int`))
}

/** `students = <alias>.students, ...`: the SET list that stores the counters of the row `alias`. */
export function assignCounters(alias: string): Prisma.Sql {
  return Prisma.raw(COUNTER_COLUMNS.map(({ column }) => `${column} = ${alias}.${column}`).join(', '))
}

/** The stored counters and the sequence they reflect; zeros before the first event. */
export async function readProjection(prisma: PrismaClient, schoolId: number): Promise<ProjectionState> {
  const [row] = await prisma.$queryRaw<ProjectionRow[]>`
    SELECT ${projectionColumns()} FROM school_dashboard_projections WHERE school_id = ${schoolId}`
  return row ? stateOfRow(row) : { metrics: { ...EMPTY_METRICS }, lastSeq: 0 }
}
