// Scenario 1, ingest: POST invitation throughput and p99 through the API (auth, membership check, one
// transaction, queue.add), against a Fastify route doing a raw `pg` insert + `queue.add`, and a bare JSON route.
import { ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld } from '../harness/bench-world.js'
import { createOwnedSchools } from '../harness/owned-schools.js'
import { closedLoop, fixedRate, type LoadTarget } from '../harness/http-load.js'
import { keepAliveAgent } from '../harness/json-request.js'
import { benchScript, serviceScript, startPinned, type PinnedProcess } from '../harness/pinned-process.js'
import type { Arm, BenchOptions, Scenario, ScenarioReport } from '../harness/scenario.js'

interface IngestParams {
  /** Schools the invitations are spread over, round robin, all owned by the fixture's owner. */
  schools: number
  connections: number
  seconds: number
  warmupSeconds: number
  fixedRatePerSecond: number
}

function params(options: BenchOptions): IngestParams {
  return options.quick
    ? { schools: 20, connections: 4, seconds: 1.5, warmupSeconds: 0.5, fixedRatePerSecond: 50 }
    : { schools: 1000, connections: 32, seconds: 10, warmupSeconds: 3, fixedRatePerSecond: 300 }
}

function ingestArm(name: string, server: PinnedProcess, target: LoadTarget, p: IngestParams): Arm {
  return {
    name,
    async measure() {
      await closedLoop(target, p.connections, p.warmupSeconds)
      const before = await server.probe()
      const closed = await closedLoop(target, p.connections, p.seconds)
      const after = await server.probe()
      const open = await fixedRate(target, p.fixedRatePerSecond, p.seconds)
      const afterOpen = await server.probe()
      return {
        metrics: {
          requestsPerSecond: closed.requestsPerSecond,
          p50Ms: closed.p50Ms,
          p99Ms: closed.p99Ms,
          serverCpu: (after.cpuUs - before.cpuUs) / 1e6 / p.seconds,
          // CPU per answered request: unlike throughput, hardly moved by other load on the machine.
          serverCpuMsPerRequest: (after.cpuUs - before.cpuUs) / 1000 / Math.max(1, closed.requests - closed.errors),
          errors: closed.errors + open.errors,
          fixedRateP50Ms: open.p50Ms,
          fixedRateP99Ms: open.p99Ms,
          // At a steady rate below capacity requests rarely overlap, so nothing is shared between them
          // (batched statements, pipelined writes): the cost per request at moderate load.
          fixedRateServerCpuMsPerRequest: (afterOpen.cpuUs - after.cpuUs) / 1000 / Math.max(1, open.requests - open.errors),
        },
        generatorCpu: Math.max(closed.generatorCpu, open.generatorCpu),
        detail: { closed, open },
      }
    },
  }
}

export const ingestScenario: Scenario = {
  name: 'ingest',
  description: 'POST invitation throughput and p99: the API vs raw pg insert + queue.add vs a bare Fastify route',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const world = await createBenchWorld('ingest')
    try {
      const schoolIds = await createOwnedSchools(world, p.schools)
      // The production quota (200 per school and hour): the schools are enough to stay under it.
      const { INVITATIONS_PER_SCHOOL_PER_HOUR: _raised, ...productionEnv } = world.serviceEnv
      const [api, baselines] = await Promise.all([
        startPinned('api', serviceScript('api'), { ...productionEnv, LOG_LEVEL: 'info' }),
        startPinned('ingest-baselines', benchScript('servers/ingest-baselines.js'), world.serviceEnv),
      ])
      world.defer(() => Promise.all([api.stop(), baselines.stop()]))
      let serial = 0
      const invitation = () => ({ email: `bench-${serial++}@example.test`, role: 'teacher' })
      let turn = 0
      const nextSchool = () => schoolIds[turn++ % schoolIds.length]!
      const agent = keepAliveAgent(p.connections)
      const group = await runAlternating(
        `${p.connections} connections over ${p.schools} schools, fixed rate ${p.fixedRatePerSecond}/s`,
        [
          ingestArm('api invitations', api, {
            agent,
            origin: api.url,
            path: () => `/api/accounts/schools/${nextSchool()}/invitations/`,
            headers: { authorization: `Bearer ${world.ownerToken}` },
            body: invitation,
            expectStatus: 201,
          }, p),
          ingestArm('raw pg + queue.add', baselines, { agent, origin: baselines.url, path: () => `/raw-pg/schools/${nextSchool()}/invitations`, headers: {}, body: invitation, expectStatus: 201 }, p),
          ingestArm('bare fastify', baselines, { agent, origin: baselines.url, path: '/bare', headers: {}, body: () => ({}), expectStatus: 201 }, p),
        ],
        options.rounds,
      )
      return {
        groups: [group],
        targets: [
          ratioTarget('api / raw pg, requests/s', group, 'api invitations', 'raw pg + queue.add', 'requestsPerSecond', '>=', 0.75),
          ratioTarget('api / raw pg, p99', group, 'api invitations', 'raw pg + queue.add', 'p99Ms', '<=', 1.5),
          ratioTarget('api / raw pg, p99 at fixed rate', group, 'api invitations', 'raw pg + queue.add', 'fixedRateP99Ms', '<=', 1.5),
        ],
        voidOnSaturation: true,
        params: { ...p },
        notes: [
          `Load from this process: the closed loop by autocannon (its API, ${p.connections} keep-alive connections), then a fixed arrival rate from node:http keep-alive (autocannon's rate option sends each second's quota as a burst).`,
          'The API logs at info (one line per request) as in production; the baselines do not log.',
          'serverCpu is the share of its core the server process used during the closed loop; low values mean it waits (database, locks), not computes.',
          'No realtime worker runs: jobs accumulate in the queue, as they would while the worker lags.',
          `Requests go to ${p.schools} schools in turn (the API at the production quota of 200 invitations per school and hour); one school's writes serialize on its row lock, which this does not measure.`,
        ],
      }
    } finally {
      await world.close()
    }
  },
}
