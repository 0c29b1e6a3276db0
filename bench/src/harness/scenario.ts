// What a scenario is to the harness: a named run that measures arms (ours and baselines) in alternated
// rounds and states the targets it checks; and the shapes of what it reports.
import type { DashboardTransport } from '@school/events'

export interface BenchOptions {
  quick: boolean
  /** Measured rounds per arm; arms alternate within each round (A/B/A/B). */
  rounds: number
  /** Where the JSON results (and charts) are written. */
  outDir: string
  /** Overrides the client/connection count of fanout and memory (a reduced full run on a busy machine). */
  clients?: number
  /** many-schools: the schools of the size the targets are checked at (default 5,000; quick 50); latency: of the spread cells (default 1,000; quick 20). */
  schools?: number
  /** many-schools: dashboards per school, the owner and admins each with one (default 2). */
  perSchool?: number
  /** many-schools: the dashboards' transport (default websocket). */
  transport?: DashboardTransport
}

/** One measured run of one arm. */
export interface ArmRun {
  metrics: Record<string, number>
  /** Share of one core the generator used while measuring (0..1+). */
  generatorCpu: number
  /** Scenario-specific detail kept in the JSON (e.g. the steps of a ramp). */
  detail?: unknown
}

export interface Arm {
  name: string
  /** Runs the arm once, warm-up included but not reported. */
  measure(round: number): Promise<ArmRun>
}

export interface ArmResult {
  name: string
  runs: ArmRun[]
  /** Median of each metric across rounds. */
  median: Record<string, number>
  generatorCpuMax: number
}

export interface GroupResult {
  /** What this comparison is, e.g. "concurrency 10". */
  name: string
  arms: ArmResult[]
}

export interface TargetCheck {
  name: string
  /** ours / baseline, or an absolute figure for absolute targets. */
  value: number
  comparison: '>=' | '<='
  target: number
  met: boolean
  /** The arms the figure comes from: if any of them had a saturated generator, the check is void. */
  arms: string[]
}

export interface ScenarioReport {
  groups: GroupResult[]
  targets: TargetCheck[]
  /** Whether a saturated generator voids this scenario (not for memory, which does not time anything). */
  voidOnSaturation: boolean
  notes: string[]
  params: Record<string, unknown>
  /** The metrics the printed tables show, where not all of them (the JSON keeps every one). */
  tableMetrics?: string[]
  /** More markdown printed after the arms' tables, such as a breakdown of their figures. */
  tables?: string[]
}

export interface Scenario {
  name: string
  description: string
  run(options: BenchOptions): Promise<ScenarioReport>
}
