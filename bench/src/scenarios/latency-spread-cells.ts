// Latency's spread-load cells: N schools x 2 dashboards (the owner's and an admin's), invitations POSTed at
// a fixed rate round robin over the schools, each timed from the start of its POST to the receipt of its
// invitation_status_update by every dashboard of its school. Arms: the realtime pipeline over plain
// WebSocket and Socket.IO, and the minimal pipeline beside it (the same route answered by one raw insert
// and a queue.add, a BullMQ worker publishing to a bare ws server holding the same dashboards). Each
// window of the pipeline also gets the services' stage breakdown.
import type { Queue } from 'bullmq'
import { DashboardFleet, plainDashboardUrl, type FleetTransport } from '../clients/dashboard-fleet.js'
import { absoluteTarget, armMedian, ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import type { MinimalPipeline } from '../harness/dashboard-server.js'
import { machineBusyCores } from '../harness/machine-cpu.js'
import { waitForQuiet, type PinnedProcess } from '../harness/pinned-process.js'
import { waitForQueueDrained } from '../harness/queue-drain.js'
import type { Arm, ArmRun, GroupResult, TargetCheck } from '../harness/scenario.js'
import type { SeededSchool } from '../harness/school-seed.js'
import { invitationWatch, measureSpreadLoad, spreadFleetOptions, type SpreadSchools, type SpreadTarget } from '../harness/spread-invitations.js'
import { breakdownTable, ms, projectionPassSources, scrapeServices, stageFigures, stageMetrics, tailStage, type ServiceScrape } from '../harness/stage-breakdown.js'

export const MINIMAL_ARM = 'minimal pipeline'
export const PIPELINE_ARMS = ['realtime websocket', 'realtime socket.io'] as const
/** The pipeline's p99 at most this many times the minimal pipeline's, in every cell. */
export const P99_VS_MINIMAL = 2
/** Absolute targets per spread rate, in order: a full run's 200 and 400 invitations/s. */
export const SPREAD_TARGETS: ReadonlyArray<Partial<Record<'p50Ms' | 'p99Ms' | 'maxMs', number>>> = [
  { p50Ms: 10, p99Ms: 50, maxMs: 250 },
  { p99Ms: 100, maxMs: 250 },
]

export interface SpreadParams {
  schools: number
  /** Dashboards per school: the owner's and (perSchool - 1) admins'. */
  perSchool: number
  /** Invitations per second, one cell each. */
  rates: number[]
  seconds: number
  warmupSeconds: number
  deliveryTimeoutMs: number
}

export interface SpreadSystems {
  api: PinnedProcess
  realtime: PinnedProcess
  /** The services' school-events queue. */
  queue: Queue
  minimal: MinimalPipeline
}

export function spreadCellName(p: SpreadParams, rate: number): string {
  return `${p.schools} schools x ${p.perSchool} dashboards, ${rate} invitations/s`
}

/**
 * An arm's two servers, in the order of `target.servers`: the one answering the POST (the api, the
 * minimal api) and the one delivering to the dashboards (the realtime service, the bare ws server).
 */
const SIDES = ['post', 'delivery'] as const
/** Per-server pause figures of a window (spread-invitations.ts), reported per side. */
const PAUSE_FIGURES = ['LoopP99Ms', 'LoopMaxMs', 'GcMs', 'GcMaxMs'] as const

interface SpreadArmPlan {
  name: string
  transport: FleetTransport
  urlOf: (school: SeededSchool) => string
  target: SpreadTarget
  /** Drained after each window, so the next starts from an empty queue. */
  queue: Queue
  /** The pipeline's services, whose /metrics give the stage breakdown. */
  stages?: { api: PinnedProcess; realtime: PinnedProcess }
}

/** Busy cores of the whole machine before a window above which a line says so (the bench's own wait loop is a few percent). */
const MACHINE_BUSY_NOTE = 0.5

function spreadArm(plan: SpreadArmPlan, context: SpreadSchools, rate: number, p: SpreadParams): Arm {
  const servers = Object.values(plan.target.servers)
  /** Resolves whether the servers fell quiet (false: still busy when the wait gave up). */
  const settle = async (): Promise<boolean> => {
    await waitForQueueDrained(plan.queue, 120_000)
    return waitForQuiet(...servers)
  }
  return {
    name: plan.name,
    async measure(): Promise<ArmRun> {
      const invitations = invitationWatch(p.perSchool)
      const fleet = await DashboardFleet.open({
        ...spreadFleetOptions(context, plan.transport, plan.urlOf, context.schools.length * p.perSchool),
        watch: invitations.watch,
      })
      try {
        await waitForQuiet(...servers)
        // Warm-up at the cell's rate: JIT, pools, first allocations; not reported.
        await measureSpreadLoad(context, plan.target, invitations.observe, rate, p.warmupSeconds)
        const quietBefore = await settle()
        if (!quietBefore) process.stderr.write(`[bench]   ${plan.name}: the servers were still busy when the window began\n`)
        // The rest of the machine too (PostgreSQL's autovacuum, a checkpoint): recorded, not waited for.
        const machineBusyBefore = await machineBusyCores()
        if (machineBusyBefore > MACHINE_BUSY_NOTE) {
          process.stderr.write(`[bench]   ${plan.name}: the machine was using ${machineBusyBefore.toFixed(2)} cores when the window began\n`)
        }
        const scrape = plan.stages ? () => scrapeServices(plan.stages!) : async () => undefined
        const before: ServiceScrape | undefined = await scrape()
        const window = await measureSpreadLoad(context, plan.target, invitations.observe, rate, p.seconds)
        // Every job done, so that every stage of every event of the window is in the second scrape.
        await waitForQueueDrained(plan.queue, 120_000)
        const after = await scrape()
        const stages = before && after ? stageFigures(before, after) : undefined
        const passes = before && after ? projectionPassSources(before, after) : undefined
        const detail = window.detail
        const serverKeys = Object.keys(plan.target.servers)
        const serverCpu = serverKeys.reduce((sum, key) => sum + (detail[`${key}Cpu`] as number), 0)
        return {
          metrics: {
            p50Ms: window.p50Ms,
            p95Ms: window.p95Ms,
            p99Ms: window.p99Ms,
            maxMs: window.maxMs,
            deliveryRatio: window.deliveryRatio,
            everyDashboardP99Ms: detail.everyDashboardP99Ms as number,
            postP99Ms: detail.postP99Ms as number,
            serverCpu,
            postToEmissionP50Ms: window.postToEmission.p50Ms,
            postToEmissionP99Ms: window.postToEmission.p99Ms,
            emissionToReceiptP50Ms: window.emissionToReceipt.p50Ms,
            emissionToReceiptP99Ms: window.emissionToReceipt.p99Ms,
            ...(stages ? stageMetrics(stages) : {}),
            ...(passes && passes.memory + passes.log > 0 ? { memoryPassShare: passes.memory / (passes.memory + passes.log) } : {}),
            ...Object.fromEntries(SIDES.flatMap((side, i) => PAUSE_FIGURES.map((figure) => [`${side}${figure}`, detail[`${serverKeys[i]}${figure}`] as number]))),
          },
          generatorCpu: window.generatorCpu,
          detail: { ...detail, dashboards: fleet.size, closedByServer: fleet.closedByServer, quietBefore, machineBusyBefore, ...(stages ? { stages, projectionPasses: passes } : {}) },
        }
      } finally {
        await fleet.close()
        await settle()
      }
    },
  }
}

/** The spread cells, one per rate, each with its three arms alternating for `rounds` rounds. */
export async function runSpreadCells(systems: SpreadSystems, schools: SeededSchool[], p: SpreadParams, rounds: number): Promise<GroupResult[]> {
  const { api, realtime, queue, minimal } = systems
  const context: SpreadSchools = { schools, p, invitationsSent: 0 }
  const pipeline = { origin: api.url, servers: { api, realtime } }
  const plans: SpreadArmPlan[] = [
    { name: PIPELINE_ARMS[0], transport: 'websocket', urlOf: (school) => plainDashboardUrl(realtime.url, school.id), target: pipeline, queue, stages: { api, realtime } },
    { name: PIPELINE_ARMS[1], transport: 'socket.io', urlOf: () => realtime.url, target: pipeline, queue, stages: { api, realtime } },
    {
      name: MINIMAL_ARM,
      transport: 'websocket',
      urlOf: (school) => plainDashboardUrl(minimal.ws.url, school.id),
      target: { origin: minimal.api.url, servers: { ingest: minimal.api, ws: minimal.ws } },
      queue: minimal.queue,
    },
  ]
  const groups: GroupResult[] = []
  for (const rate of p.rates) {
    groups.push(
      await runAlternating(
        spreadCellName(p, rate),
        plans.map((plan) => spreadArm(plan, context, rate, p)),
        rounds,
        { rotate: true },
      ),
    )
  }
  return groups
}

/** Per cell: each transport's p99 against the minimal pipeline's, and the absolute targets of its rate. */
export function spreadTargets(groups: readonly GroupResult[], p: SpreadParams): { targets: TargetCheck[]; notes: string[] } {
  const targets: TargetCheck[] = []
  const notes: string[] = []
  groups.forEach((group, index) => {
    const absolute = SPREAD_TARGETS[Math.min(index, SPREAD_TARGETS.length - 1)]!
    for (const arm of PIPELINE_ARMS) {
      targets.push(ratioTarget(`${group.name}: ${arm} p99 / ${MINIMAL_ARM} p99`, group, arm, MINIMAL_ARM, 'p99Ms', '<=', P99_VS_MINIMAL))
      for (const [metric, wanted] of Object.entries(absolute)) {
        targets.push(absoluteTarget(`${group.name}: ${arm} ${metric.replace('Ms', '')}, ms`, armMedian(group, arm, metric), '<=', wanted, [`${group.name} / ${arm}`]))
      }
    }
    for (const arm of group.arms) {
      // The minimal pipeline has the client-side split only: no stages to compare.
      const tail = arm.name === MINIMAL_ARM ? undefined : tailStage(arm.median)
      if (tail) notes.push(`${group.name} / ${arm.name}: the largest p99 of the steps is ${tail.label}, ${tail.p99Ms.toFixed(1)} ms (${tail.steps}).`)
      const fromMemory = arm.median.memoryPassShare
      if (fromMemory !== undefined) {
        notes.push(`${group.name} / ${arm.name}: ${(fromMemory * 100).toFixed(0)}% of the window's projection passes started from memory (the compare-and-set alone), the rest read the log.`)
      }
      const delivered = arm.median.deliveryRatio ?? Number.NaN
      if (!(delivered >= 1)) notes.push(`${group.name} / ${arm.name}: ${(delivered * 100).toFixed(2)}% delivered within ${p.deliveryTimeoutMs} ms: its percentiles leave the rest out.`)
    }
  })
  return { targets, notes }
}

export function spreadBreakdown(groups: readonly GroupResult[]): string {
  return breakdownTable(groups.flatMap((group) => group.arms.map((arm) => ({ cell: group.name, arm: arm.name, median: arm.median }))))
}

/** Per cell and arm: what kept each of its two servers' event loops from running during the window. */
export function spreadPauses(groups: readonly GroupResult[]): string {
  const side = (median: Record<string, number>, name: (typeof SIDES)[number]) =>
    `${ms(median[`${name}LoopP99Ms`])} / ${ms(median[`${name}LoopMaxMs`])} | ${ms(median[`${name}GcMs`])} / ${ms(median[`${name}GcMaxMs`])}`
  return [
    '**Pauses in the servers over the window** (ms, medians of the rounds: how late a 10 ms timer fired, p99 / max; garbage collection, total / longest pause)',
    '',
    '| cell | arm | POST server: loop late | its GC | delivering server: loop late | its GC |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...groups.flatMap((group) => group.arms.map((arm) => `| ${group.name} | ${arm.name} | ${side(arm.median, 'post')} | ${side(arm.median, 'delivery')} |`)),
  ].join('\n')
}

export function spreadNotes(p: SpreadParams): string[] {
  return [
    `Spread cells: ${p.schools} seeded schools x ${p.perSchool} dashboards (the owner's and ${p.perSchool - 1} admin's, one connection each), invitations POSTed as each school's owner at ${p.rates.join(' and ')}/s, round robin over the schools, for ${p.seconds} s after a ${p.warmupSeconds} s warm-up at the same rate. Latency = receipt of the invitation_status_update by a dashboard of the school - start of its POST, every dashboard and every invitation (everyDashboardP99Ms: per invitation, until the last dashboard had it); deliveryRatio = timed deliveries / (accepted POSTs x ${p.perSchool}) within ${p.deliveryTimeoutMs} ms of the last answer. Before each window the queue is drained and the servers are given up to 10 s to fall under 20% of a core; quietBefore (JSON detail) is false, and a line says so, when they had not; machineBusyBefore (JSON detail) is how many cores the whole machine was using just before the window (PostgreSQL and Redis included), and a line says so above ${MACHINE_BUSY_NOTE}. The api and realtime services are the one-school cells' (the world's configuration: raised connection limits and invitation quota, nothing on the event path), the dashboards a fresh fleet per arm and round.`,
    `${MINIMAL_ARM}: two processes on the server core, as the pipeline's api and realtime: the ingest baselines' POST /api/accounts/schools/{id}/invitations/ (no auth or domain rules: one INSERT of the invitation and its event row, then queue.add of a job carrying the message), and the bare ws server running a BullMQ worker (concurrency 50, the realtime's default) in the same process as its dashboards (/ws/schools/{id}/dashboard/, one room per school), as the realtime service runs its worker beside its gateways; each job's invitation_status_update is sent to its school's room. It sends only that message (the pipeline also sends activity_new and a coalesced metrics_update).`,
    'Pauses: every server the bench starts carries a probe that samples its event loop every 10 ms (how late that timer fired, beyond its 10 ms) and records each garbage collection\'s pause (bench/src/probes/pause-monitor.ts), read at the start and end of each window; the POST server is the api (the minimal api in the minimal pipeline), the delivering server the realtime service (the bare ws server). A stall shorter than 10 ms can fall between two samples; the GC figures are every pause.',
    'Where the time goes: the api\'s and realtime\'s /metrics scraped before and after each measured window (after the queue drained); each stage\'s p50 and p99 from the bucket deltas, interpolated within a bucket as histogram_quantile() does (so no finer than the buckets: 0.5 ms at the low end for the stages, 5 ms for the api request, 1 ms for the lag); a p99 in the +Inf bucket reads as the highest finite bound. The client split uses the envelope\'s ts (the realtime process\'s wall clock at emission, to the ms: same machine clock), so POST start -> emission reads up to 1 ms short and emission -> receipt up to 1 ms long.',
  ]
}
