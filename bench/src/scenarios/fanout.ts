// Scenario 2, fanout: N dashboard clients of one school; the event rate is raised step by step until
// delivery drops below 99.99% or p99 exceeds 100 ms. Arms: the realtime service over Socket.IO and over
// its plain WebSocket gateway, a bare `ws` server that serializes once and sends to each client, and a bare
// Socket.IO server (in-memory adapter, `io.to(room).emit`), so each transport has a baseline of its own kind.
import { bareWsUrl, DashboardFleet, plainDashboardUrl, type FleetTransport } from '../clients/dashboard-fleet.js'
import { ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld, type BenchWorld } from '../harness/bench-world.js'
import { DELIVERY_FLOOR, P99_CEILING_MS, rampResult, rampUntilFailure, runStep, FULL_RAMP_RATES, FULL_RAMP_STEP_SECONDS } from '../harness/delivery-ramp.js'
import { barePublishes, studentRegistrations, type EventSource } from '../harness/event-sources.js'
import { GENERATOR_SATURATION } from '../harness/generator-cpu.js'
import { startBareSocketIo, startPipelineAndBaseline } from '../harness/dashboard-server.js'
import { waitForQuiet, type PinnedProcess } from '../harness/pinned-process.js'
import type { Arm, BenchOptions, Scenario, ScenarioReport } from '../harness/scenario.js'
import { writeFanoutChart } from '../charts/fanout-chart.js'

interface FanoutParams {
  clients: number
  rates: number[]
  stepSeconds: number
  warmupSeconds: number
  sampledClients: number
}

function params(options: BenchOptions): FanoutParams {
  const p: FanoutParams = options.quick
    ? { clients: 20, rates: [5, 10], stepSeconds: 1, warmupSeconds: 0.5, sampledClients: 10 }
    : { clients: 10_000, rates: FULL_RAMP_RATES, stepSeconds: FULL_RAMP_STEP_SECONDS, warmupSeconds: 2, sampledClients: 100 }
  return options.clients ? { ...p, clients: options.clients, sampledClients: Math.min(p.sampledClients, options.clients) } : p
}

function fanoutArm(
  name: string,
  transport: FleetTransport,
  url: string,
  world: BenchWorld,
  server: PinnedProcess,
  source: EventSource,
  p: FanoutParams,
): Arm {
  return {
    name,
    async measure() {
      const fleet = await DashboardFleet.open({
        transport,
        url,
        schoolId: world.fixture.schoolA.id,
        token: world.ownerToken,
        count: p.clients,
        sampled: p.sampledClients,
      })
      try {
        await waitForQuiet(server)
        // Warm-up at the lowest rate: JIT, connection pools, first allocations; not reported.
        await runStep(fleet, source, [server], p.rates[0]!, p.warmupSeconds)
        return rampResult(await rampUntilFailure(name, fleet, source, [server], p.rates, p.stepSeconds), fleet.size)
      } finally {
        await fleet.close()
        await source.settle()
        await waitForQuiet(server)
      }
    },
  }
}

export const fanoutScenario: Scenario = {
  name: 'fanout',
  description: 'delivered messages/s to N clients of one school: realtime (Socket.IO, plain WebSocket) vs a bare ws and a bare Socket.IO server',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const world = await createBenchWorld('fanout')
    try {
      const [{ api, realtime, bare }, bareSocketIo] = await Promise.all([startPipelineAndBaseline(world), startBareSocketIo(world)])
      const events = studentRegistrations(world, api.url, world.schoolEventsQueue())
      const plainUrl = plainDashboardUrl(realtime.url, world.fixture.schoolA.id)
      const group = await runAlternating(
        `${p.clients} clients`,
        [
          fanoutArm('realtime socket.io', 'socket.io', realtime.url, world, realtime, events, p),
          fanoutArm('realtime websocket', 'websocket', plainUrl, world, realtime, events, p),
          fanoutArm('bare ws', 'websocket', bareWsUrl(bare.url), world, bare, barePublishes(bare), p),
          fanoutArm('bare socket.io', 'socket.io', bareSocketIo.url, world, bareSocketIo, barePublishes(bareSocketIo, world.fixture.schoolA.id), p),
        ],
        options.rounds,
      )
      const chart = await writeFanoutChart(group, options.outDir, options.quick ? 'quick' : 'full')
      return {
        groups: [group],
        targets: [
          ratioTarget('socket.io / bare ws, delivered msg/s', group, 'realtime socket.io', 'bare ws', 'deliveredPerSecond', '>=', 0.6),
          ratioTarget('plain websocket / bare ws, delivered msg/s', group, 'realtime websocket', 'bare ws', 'deliveredPerSecond', '>=', 0.9),
          ratioTarget('socket.io / bare socket.io, delivered msg/s', group, 'realtime socket.io', 'bare socket.io', 'deliveredPerSecond', '>=', 0.9),
        ],
        voidOnSaturation: true,
        params: { ...p, chart },
        notes: [
          'Each event is a real student registration through the API (activity_new + metrics_update); only activity_new is counted.',
          'The bare ws baseline sends the same two messages per publish; its publish is an HTTP POST to itself.',
          'The bare Socket.IO baseline (same socket.io, in-memory adapter, no authentication) emits the same two messages to the school\'s room with io.to(room).emit on the same POST.',
          `The API, realtime and bare servers share CPU ${0}; PostgreSQL and Redis are not pinned.`,
          `The ramp of an arm also stops at the first step where the generator used more than ${GENERATOR_SATURATION * 100}% of its core; that step is void and the arm's figure (generatorBound = 1) is only a lower bound of what the server can do.`,
          `A step passes when delivery >= ${DELIVERY_FLOOR * 100}% and p99 (message occurredAt to receipt, ${p.sampledClients} sampled clients) <= ${P99_CEILING_MS} ms.`,
        ],
      }
    } finally {
      await world.close()
    }
  },
}
