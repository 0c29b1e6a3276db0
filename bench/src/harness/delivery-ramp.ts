// The delivery ramp of fanout and scale-out: events at a fixed rate to a fleet of one school's clients, one
// step per rate, until a step fails (delivery below 99.99% or p99 above 100 ms, twice in a row) or the
// generator saturates; the arm's figure is the delivered activity messages/s of the last passing step.
import type { DashboardFleet } from '../clients/dashboard-fleet.js'
import type { EventSource } from './event-sources.js'
import { GENERATOR_SATURATION, startCpuWindow } from './generator-cpu.js'
import { runAtRate } from './paced-load.js'
import { cpuShare, waitForQuiet, type PinnedProcess } from './pinned-process.js'
import type { ArmRun } from './scenario.js'
import { percentile } from './statistics.js'

/**
 * The full-size ramp, in events/s. With 10,000 clients of one school each event/s is 10,000 deliveries/s,
 * so the low steps go by halves (whole steps made the ratios of arms that top out at 2-4 events/s jump by
 * a third); 4 s steps keep every step's event count whole.
 */
export const FULL_RAMP_RATES = [1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64]
export const FULL_RAMP_STEP_SECONDS = 4

export const DELIVERY_FLOOR = 0.9999
export const P99_CEILING_MS = 100

export interface FanoutStep {
  eventsPerSecond: number
  published: number
  expected: number
  delivered: number
  deliveryRatio: number
  p99Ms: number
  deliveredPerSecond: number
  generatorCpu: number
  /** CPU of the measured servers together, as a share of one core. */
  serverCpu: number
  /** The generator used more than GENERATOR_SATURATION of its core: the step measures the client, not the server. */
  generatorSaturated: boolean
  passed: boolean
  /** A failed first attempt that was run again. */
  retried?: boolean
}

let serial = 0

/** One step: `rate` events/s for `seconds` to `fleet`, then what arrived and how fast. */
export async function runStep(fleet: DashboardFleet, source: EventSource, servers: PinnedProcess[], rate: number, seconds: number): Promise<FanoutStep> {
  fleet.latencies = []
  const before = fleet.activityReceived
  const cpu = startCpuWindow()
  const serverBefore = await Promise.all(servers.map((server) => server.probe()))
  const outcome = await runAtRate(rate, seconds, () => source.publish(`Bench Student ${serial++}`))
  const published = outcome.results.filter((result) => result.status === 'fulfilled' && result.value).length
  const expected = published * fleet.size
  await fleet.waitForActivity(before + expected, 1000 + P99_CEILING_MS)
  const window = cpu()
  const serverAfter = await Promise.all(servers.map((server) => server.probe()))
  const delivered = fleet.activityReceived - before
  const deliveryRatio = expected === 0 ? 0 : Math.min(1, delivered / expected)
  const p99Ms = percentile(fleet.latencies, 99)
  return {
    eventsPerSecond: rate,
    published,
    expected,
    delivered,
    deliveryRatio,
    p99Ms,
    deliveredPerSecond: delivered / (window.wallMs / 1000),
    generatorCpu: window.share,
    generatorSaturated: window.share > GENERATOR_SATURATION,
    serverCpu: serverBefore.reduce((sum, sample, index) => sum + cpuShare(sample, serverAfter[index]!, window.wallMs), 0),
    passed: published === outcome.started && deliveryRatio >= DELIVERY_FLOOR && p99Ms <= P99_CEILING_MS,
  }
}

/** Raises the rate step by step (no warm-up: run one with runStep first) and returns every step run. */
export async function rampUntilFailure(
  label: string,
  fleet: DashboardFleet,
  source: EventSource,
  servers: PinnedProcess[],
  rates: number[],
  stepSeconds: number,
): Promise<FanoutStep[]> {
  const steps: FanoutStep[] = []
  for (const rate of rates) {
    let step = await runStep(fleet, source, servers, rate, stepSeconds)
    if (!step.passed && !step.generatorSaturated) {
      // One stall (a GC pause, another tenant's burst on the shared machine) can fail a step: a step
      // fails only if it fails twice in a row; the first attempt is kept in the detail.
      steps.push({ ...step, retried: true })
      await waitForQuiet(...servers)
      step = await runStep(fleet, source, servers, rate, stepSeconds)
    }
    steps.push(step)
    process.stderr.write(
      `[bench]   ${label} ${rate} ev/s: delivered ${(step.deliveryRatio * 100).toFixed(3)}%, p99 ${step.p99Ms} ms, ` +
        `generator ${Math.round(step.generatorCpu * 100)}%, server ${Math.round(step.serverCpu * 100)}%\n`,
    )
    // A saturated generator voids the step; the ramp stops there and the arm's figure is a lower bound.
    if (!step.passed || step.generatorSaturated) break
  }
  return steps
}

/** The arm's figures from its ramp: the last passing step that counts (not retried, generator not saturated). */
export function rampResult(steps: FanoutStep[], clients: number): ArmRun & { metrics: Record<string, number> } {
  const valid = steps.filter((step) => !step.generatorSaturated && !step.retried)
  const best = valid.filter((step) => step.passed).at(-1)
  return {
    metrics: {
      maxEventsPerSecond: best?.eventsPerSecond ?? 0,
      deliveredPerSecond: best?.deliveredPerSecond ?? 0,
      p99AtMaxMs: best?.p99Ms ?? Number.NaN,
      serverCpuAtMax: best?.serverCpu ?? Number.NaN,
      generatorBound: steps.at(-1)?.generatorSaturated ? 1 : 0,
    },
    // Only the steps that count: a ramp that stopped on a saturated generator is bounded, not void.
    generatorCpu: Math.max(0, ...valid.map((step) => step.generatorCpu)),
    detail: { clients, steps },
  }
}
