// Scenario 7, scale-out: the fanout ramp with 1, 2 and 3 realtime instances behind the real load balancer
// (deploy/haproxy/haproxy.cfg, started as tests/scale does), the clients spread over the instances by it,
// and the Redis commands our processes send per delivered message (MONITOR, attributed by connection).
import { DashboardFleet, plainDashboardUrl } from '../clients/dashboard-fleet.js'
import { writeFanoutChart } from '../charts/fanout-chart.js'
import { ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld, type BenchWorld } from '../harness/bench-world.js'
import { DELIVERY_FLOOR, P99_CEILING_MS, rampResult, rampUntilFailure, runStep, FULL_RAMP_RATES, FULL_RAMP_STEP_SECONDS } from '../harness/delivery-ramp.js'
import { studentRegistrations } from '../harness/event-sources.js'
import { connectionsWithinDescriptors, onServerCore } from '../harness/pinning.js'
import { serviceScript, startPinned, waitForQuiet, type PinnedProcess } from '../harness/pinned-process.js'
import type { Arm, ArmRun, BenchOptions, Scenario, ScenarioReport } from '../harness/scenario.js'
import { freePort } from '@school/test-support'
import { monitorCommands, redisPortsOf, startLoadBalancer, total } from '@school/test-support/system'

/**
 * Handshakes in flight through haproxy. The fleets' default (200) starves the instances' /readyz checks on the
 * shared server core (each handshake queries the database): haproxy then marks an instance down and cuts its
 * sessions (502, DHNN in its log), as a 1,000-client run here showed.
 */
const HANDSHAKES_IN_FLIGHT = 25

interface ScaleOutParams {
  instances: number[]
  clients: number
  rates: number[]
  stepSeconds: number
  warmupSeconds: number
  sampledClients: number
  /** What was asked for, when the descriptor limit allowed fewer. */
  requestedClients?: number
  descriptorLimit?: number | null
}

function params(options: BenchOptions): ScaleOutParams {
  const p: ScaleOutParams = options.quick
    ? { instances: [1, 2], clients: 30, rates: [5, 10], stepSeconds: 1, warmupSeconds: 0.5, sampledClients: 10 }
    : { instances: [1, 2, 3], clients: 10_000, rates: FULL_RAMP_RATES, stepSeconds: FULL_RAMP_STEP_SECONDS, warmupSeconds: 2, sampledClients: 100 }
  const wanted = options.clients ? { ...p, clients: options.clients, sampledClients: Math.min(p.sampledClients, options.clients) } : p
  // haproxy holds two descriptors per client (its side and the instance's): where the limit cannot be
  // raised, fewer clients, in whole thousands, instead of a ramp that waits for connections haproxy cannot accept.
  const { connections, limit } = connectionsWithinDescriptors(wanted.clients, 2, 1000)
  return connections === wanted.clients ? wanted : { ...wanted, clients: connections, requestedClients: wanted.clients, descriptorLimit: limit }
}

/** Runs cleanups in reverse order of registration: what one arm started, stopped when the arm ends. */
async function runCleanups(cleanups: Array<() => unknown>): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch (error) {
      console.error('[bench] cleanup failed:', error)
    }
  }
}

/** The local ports of every Redis connection the given processes hold. */
async function redisPortsOfAll(processes: PinnedProcess[]): Promise<Set<number>> {
  const ports = new Set<number>()
  for (const server of processes) for (const port of await redisPortsOf(server.child.pid!)) ports.add(port)
  return ports
}

function scaleOutArm(instances: number, world: BenchWorld, api: PinnedProcess, p: ScaleOutParams): Arm {
  const name = `${instances} realtime instance${instances === 1 ? '' : 's'}`
  return {
    name,
    async measure(): Promise<ArmRun> {
      const cleanups: Array<() => unknown> = []
      // Each is also left to the world, so that Ctrl-C mid-arm stops it too (stopping twice is a no-op).
      const stopLater = (cleanup: () => unknown) => {
        cleanups.push(cleanup)
        world.defer(cleanup)
      }
      try {
        const realtimes = await Promise.all(
          Array.from({ length: instances }, async (_, index) => {
            const realtime = await startPinned(`realtime-${index + 1}`, serviceScript('realtime'), world.serviceEnv)
            stopLater(() => realtime.stop())
            return realtime
          }),
        )
        const balancer = await startLoadBalancer(stopLater, {
          port: await freePort(),
          api: [api.url],
          realtime: realtimes.map((realtime) => realtime.url),
          launcher: onServerCore,
        })
        const fleet = await DashboardFleet.open({
          transport: 'websocket',
          url: plainDashboardUrl(balancer.origin, world.fixture.schoolA.id),
          schoolId: world.fixture.schoolA.id,
          token: world.ownerToken,
          count: p.clients,
          sampled: p.sampledClients,
          connectConcurrency: HANDSHAKES_IN_FLIGHT,
        })
        stopLater(() => fleet.close())
        const allUp = Object.fromEntries(realtimes.map((_, index) => [`realtime/realtime-${index + 1}`, 'UP']))
        await balancer.waitForStatus(allUp)
        const stats = await balancer.serverStats()
        const clientsPerInstance = realtimes.map((_, index) => stats[`realtime/realtime-${index + 1}`]?.sessions ?? 0)
        // The events go through the balancer too, as in production (one api instance behind it).
        const source = studentRegistrations(world, balancer.origin, world.schoolEventsQueue())
        cleanups.push(() => source.settle())
        await waitForQuiet(api, ...realtimes)
        await runStep(fleet, source, realtimes, p.rates[0]!, p.warmupSeconds)
        await source.settle()

        const delivered = fleet.activityReceived
        const log = await monitorCommands()
        const steps = await rampUntilFailure(name, fleet, source, realtimes, p.rates, p.stepSeconds)
        await source.settle()
        await log.stop()
        // An instance marked down during the ramp would have had its clients cut: kept beside the figures.
        const statusAfterRamp = await balancer.serverStatus()
        const ports = await redisPortsOfAll([api, ...realtimes])
        const commands = log.countBy(ports)
        const messages = fleet.activityReceived - delivered
        const events = steps.reduce((sum, step) => sum + step.published, 0)
        const result = rampResult(steps, fleet.size)
        const topCommands = Object.fromEntries([...commands.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8))
        process.stderr.write(
          `[bench]   ${name}: clients per instance ${clientsPerInstance.join('/')}, ${total(commands)} Redis commands for ${events} events ` +
            `and ${messages} deliveries (${JSON.stringify(topCommands)})\n`,
        )
        return {
          ...result,
          metrics: {
            ...result.metrics,
            redisCommandsPerEvent: total(commands) / events,
            redisCommandsPerDelivered: total(commands) / messages,
          },
          detail: { ...(result.detail as object), clientsPerInstance, statusAfterRamp, redisCommands: Object.fromEntries(commands), events, messages },
        }
      } finally {
        await runCleanups(cleanups)
        await waitForQuiet(api)
      }
    },
  }
}

export const scaleOutScenario: Scenario = {
  name: 'scale-out',
  description: 'delivered messages/s with 1, 2, 3 realtime instances behind haproxy, and Redis commands per delivered message',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const world = await createBenchWorld('scale_out')
    try {
      // PUBLIC_URL only shapes invitation links, which student registrations do not have.
      const api = await startPinned('api', serviceScript('api'), world.serviceEnv)
      world.defer(() => api.stop())
      const group = await runAlternating(
        `${p.clients} clients through haproxy`,
        p.instances.map((instances) => scaleOutArm(instances, world, api, p)),
        options.rounds,
      )
      const [one, ...more] = group.arms.map((arm) => arm.name)
      const chart = await writeFanoutChart(group, options.outDir, options.quick ? 'quick' : 'full', 'scale-out')
      return {
        groups: [group],
        // The issue sets no target here: the ratios are reported.
        targets: more.map((arm) => ratioTarget(`${arm} / ${one}, delivered msg/s (no target; reported)`, group, arm, one!, 'deliveredPerSecond', '>=', 0)),
        voidOnSaturation: true,
        params: { ...p, chart },
        notes: [
          'Each arm starts its own realtime instances and haproxy (deploy/haproxy/haproxy.cfg) in front of them and of the one api instance; plain WebSocket clients connect through haproxy, which spreads them round robin (clientsPerInstance in the JSON).',
          'Events are student registrations through haproxy and the api (activity_new + metrics_update); the workers of all instances share the queue, and the Redis adapter carries each message to the instances that have clients of the school.',
          `Every server (api, the realtime instances, haproxy) runs on the server core: on a 2-core machine this measures what more instances cost, not what they add. A step passes when delivery >= ${DELIVERY_FLOOR * 100}% and p99 <= ${P99_CEILING_MS} ms (${p.sampledClients} sampled clients).`,
          ...(p.requestedClients
            ? [`Capped at ${p.clients} of the ${p.requestedClients} clients asked for: haproxy needs two descriptors per client, the limit is ${p.descriptorLimit} and could not be raised (prlimit needs CAP_SYS_RESOURCE above the hard limit).`]
            : []),
          'serverCpu in the steps: the realtime instances together. Redis commands: MONITOR during the ramp, counted for the connections of the api and realtime processes (PostgreSQL, haproxy and this process excluded); per event and per delivered activity_new.',
        ],
      }
    } finally {
      await world.close()
    }
  },
}
