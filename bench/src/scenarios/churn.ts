// Scenario 5, churn and leaks: N steady dashboard connections, plus clients that connect and leave at a fixed
// rate for a bounded soak, then everyone leaves. The server's post-GC heap is taken when empty, once the steady
// connections have joined ("start"), during and after the soak and after everyone left, and a heap snapshot
// counts its connection objects by constructor name. Baseline: the same run against the bare ws server.
import { DashboardFleet, type FleetTransport } from '../clients/dashboard-fleet.js'
import { writeChurnChart } from '../charts/churn-chart.js'
import { absoluteTarget, armMedian, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld, type BenchWorld } from '../harness/bench-world.js'
import { startDashboardServer, type DashboardServerKind } from '../harness/dashboard-server.js'
import type { HeapPoint } from '../charts/churn-chart.js'
import { startCpuWindow } from '../harness/generator-cpu.js'
import { runAtRate } from '../harness/paced-load.js'
import { flushAfterCensus, FLUSH_GCS_AFTER_CENSUS, waitForQuiet, type HeapCensus, type PinnedProcess } from '../harness/pinned-process.js'
import { heapGrowth } from '../probes/heap-census.js'
import type { Arm, ArmRun, BenchOptions, Scenario, ScenarioReport, TargetCheck } from '../harness/scenario.js'

/** The realtime service's own per-connection objects (its gateways' connection classes and its stream). */
const SERVICE_CONNECTION_OBJECTS = ['PlainConnection', 'SocketIoConnection', 'Membership', 'DashboardStream'] as const
/** The ones that must not outlive their connection (Socket also counts database and Redis connections). */
const CONNECTION_OBJECTS = ['WebSocket', ...SERVICE_CONNECTION_OBJECTS] as const
/** Constructor names counted in the server's heap: per-connection objects of ws, net, http and the realtime service. */
export const CENSUS_NAMES = [...CONNECTION_OBJECTS, 'Socket', 'IncomingMessage'] as const
export const HEAP_TOLERANCE = 1.05

interface ChurnParams {
  steady: number
  churnPerSecond: number
  soakSeconds: number
  /** How many churning clients are connected at once: each one leaves after about pool / rate seconds. */
  churnPool: number
  warmupSeconds: number
  /** Post-GC heap samples taken during the soak (the curve of the chart). */
  soakSamples: number
}

function params(options: BenchOptions): ChurnParams {
  const p: ChurnParams = options.quick
    ? { steady: 50, churnPerSecond: 20, soakSeconds: 2, churnPool: 10, warmupSeconds: 0.3, soakSamples: 1 }
    : { steady: 10_000, churnPerSecond: 100, soakSeconds: 60, churnPool: 100, warmupSeconds: 3, soakSamples: 6 }
  return options.clients ? { ...p, steady: options.clients } : p
}


/** Connects one churning client per tick and, once the pool is full, disconnects the oldest (clean and abrupt in turn). */
async function churn(fleet: DashboardFleet, p: ChurnParams, seconds: number, total: number): Promise<{ connects: number; failed: number; wallMs: number }> {
  const outcome = await runAtRate(p.churnPerSecond, seconds, async (index) => {
    await fleet.grow(1, total)
    if (fleet.size > p.churnPool) await fleet.shrink(1, index % 2 === 0 ? 'graceful' : 'abrupt')
  })
  const failed = outcome.results.filter((result) => result.status === 'rejected').length
  return { connects: outcome.started - failed, failed, wallMs: outcome.elapsedMs }
}

function churnArm(name: string, transport: FleetTransport, kind: DashboardServerKind, world: BenchWorld, p: ChurnParams): Arm {
  return {
    name,
    async measure(): Promise<ArmRun> {
      const { process: server, url } = await startDashboardServer(kind, transport, world)
      const open = () => DashboardFleet.open({ transport, url, schoolId: world.fixture.schoolA.id, token: world.ownerToken, count: 0, sampled: 0 })
      const steady = await open()
      const churners = await open()
      const total = p.steady + p.churnPool + 1
      const points: HeapPoint[] = []
      let joinedAt = 0
      const sample = async (phase: HeapPoint['phase']) => {
        const { heapUsed, rss } = await server.probe({ gc: true })
        points.push({ phase, atSeconds: joinedAt === 0 ? 0 : (performance.now() - joinedAt) / 1000, heapUsed, rss })
        return heapUsed
      }
      const census = async (moreSamplesFollow: boolean) => {
        const counted = await server.census(CENSUS_NAMES)
        if (moreSamplesFollow) await flushAfterCensus(server)
        return counted
      }
      const settled = async () => {
        // Work scheduled right after a close (presence updates are debounced by 50 ms) must be over too.
        await new Promise((resolve) => setTimeout(resolve, 100))
        await waitForQuiet(server)
      }
      try {
        // Warm-up: the churn itself with nobody else connected, so lazily built state is in place; not reported.
        await churn(churners, p, p.warmupSeconds, total)
        await churners.close()
        await settled()
        const empty = await sample('empty')
        const censusEmpty = await census(true)

        await steady.grow(p.steady, total)
        await settled()
        joinedAt = performance.now()
        const start = await sample('start')
        const censusStart = await census(true)

        const cpu = startCpuWindow()
        const soakSampler = sampleDuring(p.soakSeconds, p.soakSamples, () => sample('soak'))
        const churned = await churn(churners, p, p.soakSeconds, total)
        await soakSampler
        const generator = cpu()
        await churners.shrink(Math.ceil(churners.size / 2), 'graceful')
        await churners.close()
        await settled()
        const afterSoak = await sample('after soak')

        await steady.shrink(Math.ceil(steady.size / 2), 'graceful')
        await steady.close()
        await settled()
        const afterLeave = await sample('after leave')
        const censusLeave = await census(false)

        const retained = (names: readonly string[]) => names.reduce((sum, n) => sum + (censusLeave.counts[n] ?? 0) - (censusEmpty.counts[n] ?? 0), 0)
        process.stderr.write(
          `[bench]   ${name}: heap empty ${mib(empty)}, start ${mib(start)}, after soak ${mib(afterSoak)}, after leave ${mib(afterLeave)} MiB; ` +
            `${churned.connects} churn connects (${churned.failed} failed); retained ${JSON.stringify(diff(censusEmpty, censusLeave))}\n`,
        )
        return {
          metrics: {
            heapStartMiB: start / 2 ** 20,
            soakVsStart: afterSoak / start,
            leaveVsEmpty: afterLeave / empty,
            retainedConnectionObjects: retained(CONNECTION_OBJECTS),
            retainedSockets: retained(['Socket']),
            webSocketsAtStart: (censusStart.counts.WebSocket ?? 0) - (censusEmpty.counts.WebSocket ?? 0),
            churnConnectsPerSecond: churned.connects / (churned.wallMs / 1000),
            failedConnects: churned.failed,
          },
          generatorCpu: generator.share,
          detail: {
            points,
            census: { empty: countsOf(censusEmpty), start: countsOf(censusStart), afterLeave: countsOf(censusLeave) },
            // What the heap holds more of after everyone left than when it was empty, by kind of node.
            heapGrowthAfterLeave: heapGrowth(censusEmpty.bytes, censusLeave.bytes),
          },
        }
      } finally {
        await Promise.all([steady.close(), churners.close()])
        await server.stop()
      }
    },
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1)
}

/** A census without its bytes per kind (thousands of entries), as kept in the results. */
function countsOf({ counts, ms }: HeapCensus): Pick<HeapCensus, 'counts' | 'ms'> {
  return { counts, ms }
}

function diff(before: HeapCensus, after: HeapCensus): Record<string, number> {
  return Object.fromEntries(Object.keys(after.counts).map((name) => [name, (after.counts[name] ?? 0) - (before.counts[name] ?? 0)]))
}

/** Takes `count` samples spread evenly over the next `seconds` (each after a GC in the server). */
async function sampleDuring(seconds: number, count: number, take: () => Promise<unknown>): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / (count + 1)))
    await take()
  }
}

export const churnScenario: Scenario = {
  name: 'churn',
  description: 'steady connections + connects/disconnects per second, then all leave: post-GC heap and retained connection objects vs bare ws',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const world = await createBenchWorld('churn')
    try {
      // --quick leaves out Socket.IO: each realtime arm costs about 10 s of heap snapshots and GCs.
      const arms = [
        churnArm('realtime websocket', 'websocket', 'realtime', world, p),
        ...(options.quick ? [] : [churnArm('realtime socket.io', 'socket.io', 'realtime', world, p)]),
        churnArm('bare ws', 'websocket', 'bare', world, p),
      ]
      const group = await runAlternating(`${p.steady} steady + ${p.churnPerSecond} churn/s for ${p.soakSeconds} s`, arms, options.rounds)
      const arm = (name: string) => [`${group.name} / ${name}`]
      const ours = arms.map((candidate) => candidate.name).filter((name) => name.startsWith('realtime'))
      const targets: TargetCheck[] = ours.flatMap((name) => [
        absoluteTarget(`${name}: heap after soak / start`, armMedian(group, name, 'soakVsStart'), '<=', HEAP_TOLERANCE, arm(name)),
        absoluteTarget(`${name}: heap after everyone left / empty`, armMedian(group, name, 'leaveVsEmpty'), '<=', HEAP_TOLERANCE, arm(name)),
        absoluteTarget(`${name}: retained ${CONNECTION_OBJECTS.join(' + ')} objects`, armMedian(group, name, 'retainedConnectionObjects'), '<=', 0, arm(name)),
      ])
      const chart = await writeChurnChart(group, options.outDir, options.quick ? 'quick' : 'full')
      return {
        groups: [group],
        targets,
        voidOnSaturation: true,
        params: { ...p, chart, censusNames: CENSUS_NAMES },
        notes: [
          '"start" is the post-GC heap once the steady connections have joined, before any churn; soakVsStart compares the heap after the soak (churners gone, steady still connected) with it.',
          '"empty" is the post-GC heap of the server after a warm-up churn, before the steady connections join; leaveVsEmpty compares the heap after everyone left with it.',
          `After each census the server runs ${FLUSH_GCS_AFTER_CENSUS} full GCs, so that the source positions a heap snapshot attaches to bytecode are flushed before the next heap sample.`,
          `Retained objects: a heap snapshot in the server (the probe) counts ${CENSUS_NAMES.join(', ')} by constructor name; retained = after everyone left - empty. Socket also counts database and Redis connections, so it is reported but not a target.`,
          `Churning clients connect at ${p.churnPerSecond}/s; once ${p.churnPool} are connected each connect is paired with the oldest one leaving, alternately with a clean close and an abrupt drop. Half of the steady clients leave cleanly, half abruptly.`,
          'The bare ws arm is the reference: the same run against a server that keeps only a Set of sockets.',
        ],
      }
    } finally {
      await world.close()
    }
  },
}
