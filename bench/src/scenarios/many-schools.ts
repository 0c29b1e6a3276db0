// Scenario 8, many schools: the product's real shape, thousands of schools each watched by its owner and
// admins, with a trickle of events. Per size (schools x dashboards per school, seeded straight into the
// database), the api and realtime services run with their default configuration and every dashboard is
// open; then the idle cost (realtime and api CPU, heap and RSS per connection, Redis commands/s, PostgreSQL
// transactions/s) beside a bare ws server holding as many idle connections, and the end-to-end latency of
// invitations POSTed at fixed rates, round robin over the schools, to every dashboard of the school.
import { join } from 'node:path'
import { bareWsUrl, DashboardFleet, plainDashboardUrl, type FleetTransport } from '../clients/dashboard-fleet.js'
import { writeIdleCostChart } from '../charts/idle-cost-chart.js'
import { absoluteTarget, armMedian, ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld, type BenchWorld } from '../harness/bench-world.js'
import { openTransactionCounter } from '../harness/database-transactions.js'
import { startCpuWindow } from '../harness/generator-cpu.js'
import { benchScript, CPU_PROFILE_DIR_ENV, cpuShare, serviceScript, startPinned, waitForQuiet, type PinnedProcess } from '../harness/pinned-process.js'
import { connectionsWithinDescriptors } from '../harness/pinning.js'
import { waitForQueueDrained } from '../harness/queue-drain.js'
import { startRedisCommandWindow, type RedisCommandCount } from '../harness/redis-command-count.js'
import type { Arm, ArmRun, BenchOptions, GroupResult, Scenario, ScenarioReport, TargetCheck } from '../harness/scenario.js'
import { seedSchools, type SeededSchool } from '../harness/school-seed.js'
import { heapGrowth } from '../probes/heap-census.js'
import { invitationWatch, measureSpreadLoad, spreadFleetOptions } from '../harness/spread-invitations.js'

/** Targets at the headline size, idle (see the brief in docs/BENCHMARKS.md, "Many schools"). */
export const CPU_OVER_BARE_POINTS = 3
export const REDIS_COMMANDS_PER_SECOND = 50
export const PG_TRANSACTIONS_PER_SECOND = 5
/** Each idle cost at the headline size at most this many times its value at the reference size. */
export const GROWTH_FROM_REFERENCE = 1.2
export const HEAP_VS_BARE = 1.5

const BARE_ARM = 'bare ws'
/**
 * Dashboards per loopback source address. The realtime service's defaults allow 200 open connections and 600
 * handshakes a minute per client address; 50 leaves room for the warm-up's connections still being released.
 */
const DASHBOARDS_PER_SOURCE_ADDRESS = 50
/** The api's default INVITATIONS_PER_SCHOOL_PER_HOUR, which this scenario leaves in place. */
const INVITATION_QUOTA_PER_HOUR = 200
/** The environment the services get from the world: where to find it, nothing else (no raised limits). */
const SERVICE_ENV_KEYS = ['DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'JWT_SECRET', 'PUBLIC_URL'] as const

interface ManySchoolsParams {
  /** Schools per size, ascending. */
  sizes: number[]
  /** The size the others' idle costs and p99 are compared with. */
  reference: number
  /** The size the absolute targets are checked at. */
  headline: number
  perSchool: number
  transport: FleetTransport
  idleSeconds: number
  /** Waited after the dashboards are open and the servers quiet, before the idle window. */
  settleSeconds: number
  /** Dashboards opened and closed on a fresh server before its empty sample. */
  warmupDashboards: number
  /** Invitations per second of the load phase. */
  rates: number[]
  loadSeconds: number
  loadWarmupSeconds: number
  /** How long to wait for the last deliveries after the last POST was answered. */
  deliveryTimeoutMs: number
  /** Sizes asked for that the descriptor limit cut down, and the limit. */
  capped?: Array<{ requested: number; schools: number }>
  descriptorLimit?: number | null
}

function params(options: BenchOptions): ManySchoolsParams {
  const perSchool = options.perSchool ?? 2
  const transport = options.transport ?? 'websocket'
  const base = options.quick
    ? { sizes: [50], reference: 50, headline: 50, idleSeconds: 3, settleSeconds: 0.5, warmupDashboards: 20, rates: [10, 20], loadSeconds: 1.5, loadWarmupSeconds: 0.5, deliveryTimeoutMs: 3000 }
    : { sizes: [1_000, 5_000, 10_000], reference: 1_000, headline: 5_000, idleSeconds: 60, settleSeconds: 10, warmupDashboards: 100, rates: [50, 200], loadSeconds: 10, loadWarmupSeconds: 2, deliveryTimeoutMs: 5000 }
  let { sizes, reference, headline } = base
  if (options.schools !== undefined) {
    headline = options.schools
    reference = Math.min(reference, headline)
    sizes = headline > reference ? [reference, headline] : [headline]
  }
  // Every dashboard is a descriptor in the server and one in this process: where the limit cannot be raised,
  // a size stops at the schools whose dashboards fit, in whole steps, instead of failing with EMFILE.
  const step = options.quick ? 10 : 500
  const capped: Array<{ requested: number; schools: number }> = []
  let descriptorLimit: number | null = null
  const fitted = sizes.map((requested) => {
    const { connections, limit } = connectionsWithinDescriptors(requested * perSchool, 1, step * perSchool)
    descriptorLimit = limit
    const schools = Math.floor(connections / perSchool)
    if (schools < requested) capped.push({ requested, schools })
    return schools
  })
  const fit = (schools: number) => fitted[sizes.indexOf(schools)]!
  const p: ManySchoolsParams = { ...base, perSchool, transport, sizes: [...new Set(fitted)].sort((a, b) => a - b), reference: fit(reference), headline: fit(headline) }
  return capped.length > 0 ? { ...p, capped, descriptorLimit } : p
}

/** The services' default configuration: only where the world's database and Redis are, and the JWT key. */
function serviceEnv(world: BenchWorld): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of SERVICE_ENV_KEYS) {
    const value = world.serviceEnv[key]
    if (value !== undefined) env[key] = value
  }
  return env
}

function groupName(schools: number, perSchool: number): string {
  return `${schools} schools x ${perSchool} dashboards`
}

async function pause(seconds: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
}

/** The server's last warning and error log lines (pino levels 40-60), to say why dashboards were dropped. */
function warningsOf(server: PinnedProcess): string[] {
  return server.logs.filter((line) => /"level":[456]0\b/.test(line)).slice(-20)
}

/** Work right after a fleet opened or closed (presence updates are debounced) must be over too. */
async function settled(...servers: PinnedProcess[]): Promise<void> {
  await pause(0.1)
  await waitForQuiet(...servers)
}

interface IdleWindow {
  /** Share of one core per watched process. */
  cpu: Record<string, number>
  redis: RedisCommandCount
  pgTransactions: number
  wallMs: number
  generatorCpu: number
}

/**
 * One idle window: CPU of every server, Redis commands of the services (and of the whole Redis), and the
 * transactions of the world's database. Nothing of this process's runs in between: its own Redis and
 * PostgreSQL reads are on connections of their own, fenced outside the window or in another database.
 * With --cpu-prof, every server also writes a CPU profile of just this window (`idle-<label>-<name>`).
 */
async function measureIdle(world: BenchWorld, servers: Record<string, PinnedProcess>, services: PinnedProcess[], seconds: number, label: string): Promise<IdleWindow> {
  const transactions = await openTransactionCounter(world.databaseUrl)
  const profileDir = process.env[CPU_PROFILE_DIR_ENV]
  try {
    const stopProfiles = profileDir ? await Promise.all(Object.values(servers).map((server) => server.profileWindow())) : []
    const redis = await startRedisCommandWindow(Object.fromEntries(services.map((service) => [service.name, service.child.pid!])))
    const names = Object.keys(servers)
    const before = await Promise.all(names.map((name) => servers[name]!.probe()))
    const transactionsBefore = await transactions.read()
    const cpu = startCpuWindow()
    await pause(seconds)
    const window = cpu()
    const after = await Promise.all(names.map((name) => servers[name]!.probe()))
    const transactionsAfter = await transactions.read()
    const commands = await redis.stop()
    await Promise.all(stopProfiles.map((stop, i) => stop(join(profileDir!, `idle-${label}-${names[i]}-${Date.now()}.cpuprofile`))))
    return {
      cpu: Object.fromEntries(names.map((name, i) => [name, cpuShare(before[i]!, after[i]!, window.wallMs)])),
      redis: commands,
      pgTransactions: transactionsAfter - transactionsBefore,
      wallMs: window.wallMs,
      generatorCpu: window.share,
    }
  } finally {
    await transactions.close()
  }
}

/** What every size's arms share: the seeded schools and the dashboards' order (school by school). */
interface SizeContext {
  world: BenchWorld
  schools: SeededSchool[]
  p: ManySchoolsParams
  /** Invitations sent so far in this world: the next one goes to school (sent % schools). */
  invitationsSent: number
}

function dashboardsOf(context: SizeContext): number {
  return context.schools.length * context.p.perSchool
}

function realtimeArm(context: SizeContext): Arm {
  const { world, p } = context
  const name = `realtime ${p.transport}`
  return {
    name,
    async measure(): Promise<ArmRun> {
      const env = serviceEnv(world)
      const stops: Array<() => Promise<void>> = []
      try {
        const start = async (service: 'api' | 'realtime') => {
          const started = await startPinned(service, serviceScript(service), env)
          stops.push(() => started.stop())
          world.defer(() => started.stop())
          return started
        }
        const [api, realtime] = await Promise.all([start('api'), start('realtime')])
        const urlOf = (school: SeededSchool) => (p.transport === 'socket.io' ? realtime.url : plainDashboardUrl(realtime.url, school.id))
        const options = spreadFleetOptions(context, p.transport, urlOf, dashboardsOf(context), DASHBOARDS_PER_SOURCE_ADDRESS)
        const invitations = invitationWatch(p.perSchool)
        await waitForQuiet(api, realtime)
        // Warm-up: a few dashboards opened and closed, so that lazily built state is in place before the empty sample.
        const warm = await DashboardFleet.open({ ...options, count: Math.min(p.warmupDashboards, options.count) })
        await warm.close()
        await settled(api, realtime)
        const empty = await realtime.probe({ gc: true })
        const connecting = performance.now()
        const fleet = await DashboardFleet.open({
          ...options,
          watch: invitations.watch,
        })
        const connectSeconds = (performance.now() - connecting) / 1000
        try {
          await settled(api, realtime)
          await pause(p.settleSeconds)
          process.stderr.write(`[bench]   ${name}: ${fleet.size} dashboards open in ${connectSeconds.toFixed(1)} s; idle for ${p.idleSeconds} s\n`)
          const idle = await measureIdle(world, { realtime, api }, [api, realtime], p.idleSeconds, `${context.schools.length}-schools`)
          const full = await realtime.probe({ gc: true })
          const droppedDuringIdle = fleet.closedByServer
          const perSecond = (count: number) => count / (idle.redis.wallMs / 1000)
          const metrics: Record<string, number> = {
            schools: context.schools.length,
            dashboards: fleet.size,
            serverCpu: idle.cpu.realtime!,
            apiCpu: idle.cpu.api!,
            heapBytesPerConnection: (full.heapUsed - empty.heapUsed) / fleet.size,
            rssBytesPerConnection: (full.rss - empty.rss) / fleet.size,
            redisCommandsPerSecond: perSecond(idle.redis.attributed),
            redisServerCommandsPerSecond: perSecond(idle.redis.serverTotal),
            pgTransactionsPerSecond: idle.pgTransactions / (idle.wallMs / 1000),
            droppedDashboards: droppedDuringIdle,
          }
          process.stderr.write(
            `[bench]   ${name}: idle realtime CPU ${(metrics.serverCpu! * 100).toFixed(1)}%, api ${(metrics.apiCpu! * 100).toFixed(1)}%, ` +
              `Redis ${metrics.redisCommandsPerSecond!.toFixed(1)} commands/s, PostgreSQL ${metrics.pgTransactionsPerSecond!.toFixed(1)} transactions/s\n`,
          )
          const queue = world.schoolEventsQueue()
          const target = { origin: api.url, servers: { api, realtime } }
          const load: Array<Record<string, unknown>> = []
          let generatorCpu = idle.generatorCpu
          for (const rate of p.rates) {
            // Warm-up at the window's rate: JIT, pools, first allocations; not reported.
            await measureSpreadLoad(context, target, invitations.observe, rate, p.loadWarmupSeconds)
            await waitForQueueDrained(queue, 120_000)
            await settled(api, realtime)
            const window = await measureSpreadLoad(context, target, invitations.observe, rate, p.loadSeconds)
            await waitForQueueDrained(queue, 120_000)
            metrics[`load${rate}P50Ms`] = window.p50Ms
            metrics[`load${rate}P99Ms`] = window.p99Ms
            metrics[`load${rate}MaxMs`] = window.maxMs
            metrics[`load${rate}Delivered`] = window.deliveryRatio
            generatorCpu = Math.max(generatorCpu, window.generatorCpu)
            load.push({ ...window.detail, p50Ms: window.p50Ms, p99Ms: window.p99Ms, maxMs: window.maxMs, deliveryRatio: window.deliveryRatio })
            process.stderr.write(
              `[bench]   ${name}: ${rate} invitations/s: p50 ${window.p50Ms.toFixed(1)} ms, p99 ${window.p99Ms.toFixed(1)} ms, delivered ${(window.deliveryRatio * 100).toFixed(2)}%\n`,
            )
          }
          const droppedAfterLoad = fleet.closedByServer
          const serverCloses = fleet.serverCloses
          const heapGrowthPerConnection = await censusOfLeaving(realtime, fleet, name)
          return {
            metrics,
            generatorCpu,
            detail: {
              heapGrowthPerConnection,
              connectSeconds,
              emptyServer: { heapUsed: empty.heapUsed, rss: empty.rss },
              fullServer: { heapUsed: full.heapUsed, rss: full.rss },
              idleWindowSeconds: idle.wallMs / 1000,
              redisCommands: idle.redis.byProcess,
              redisConnections: idle.redis.connections,
              redisServerCommands: idle.redis.serverTotal,
              pgTransactions: idle.pgTransactions,
              droppedAfterLoad,
              ...(droppedAfterLoad > 0 ? { dropped: serverCloses, warnings: warningsOf(realtime) } : {}),
              load,
            },
          }
        } finally {
          await fleet.close()
        }
      } finally {
        for (const stop of stops.reverse()) await stop()
      }
    },
  }
}

/**
 * Where the bytes per connection are: the kinds of heap node that shrank most when every dashboard left
 * (per-school state goes with a school's last dashboard), per dashboard, top 25. Taken after the samples,
 * as the census itself inflates the heap; closes the fleet.
 */
async function censusOfLeaving(server: PinnedProcess, fleet: DashboardFleet, name: string): Promise<Array<{ kind: string; bytesPerConnection: number }>> {
  const dashboards = fleet.size
  const full = await server.census([])
  await fleet.close()
  await waitForQuiet(server)
  const left = await server.census([])
  const growth = heapGrowth(left.bytes, full.bytes, 25).map(({ kind, bytes }) => ({ kind, bytesPerConnection: Math.round(bytes / dashboards) }))
  process.stderr.write(
    `[bench]   ${name}: heap per connection by kind: ${growth.slice(0, 8).map(({ kind, bytesPerConnection }) => `${kind} ${bytesPerConnection} B`).join(', ')}\n`,
  )
  return growth
}

/** The same number of idle connections held by the bare ws server (servers/bare-ws-server.ts). */
function bareArm(context: SizeContext): Arm {
  const { world, p } = context
  return {
    name: BARE_ARM,
    async measure(): Promise<ArmRun> {
      const bare = await startPinned('bare-ws', benchScript('servers/bare-ws-server.js'), {})
      world.defer(() => bare.stop())
      try {
        const url = bareWsUrl(bare.url)
        const options = spreadFleetOptions(context, 'websocket', () => url, dashboardsOf(context), DASHBOARDS_PER_SOURCE_ADDRESS)
        const warm = await DashboardFleet.open({ ...options, count: Math.min(p.warmupDashboards, options.count) })
        await warm.close()
        await settled(bare)
        const empty = await bare.probe({ gc: true })
        const fleet = await DashboardFleet.open(options)
        try {
          await settled(bare)
          await pause(p.settleSeconds)
          const idle = await measureIdle(world, { bare }, [], p.idleSeconds, `${context.schools.length}-schools`)
          const full = await bare.probe({ gc: true })
          const metrics = {
            schools: context.schools.length,
            dashboards: fleet.size,
            serverCpu: idle.cpu.bare!,
            heapBytesPerConnection: (full.heapUsed - empty.heapUsed) / fleet.size,
            rssBytesPerConnection: (full.rss - empty.rss) / fleet.size,
            redisServerCommandsPerSecond: idle.redis.serverTotal / (idle.redis.wallMs / 1000),
            pgTransactionsPerSecond: idle.pgTransactions / (idle.wallMs / 1000),
            droppedDashboards: fleet.closedByServer,
          }
          const dropped = fleet.closedByServer > 0 ? { dropped: fleet.serverCloses } : {}
          const heapGrowthPerConnection = await censusOfLeaving(bare, fleet, BARE_ARM)
          return {
            metrics,
            generatorCpu: idle.generatorCpu,
            detail: {
              heapGrowthPerConnection,
              emptyServer: { heapUsed: empty.heapUsed, rss: empty.rss },
              fullServer: { heapUsed: full.heapUsed, rss: full.rss },
              idleWindowSeconds: idle.wallMs / 1000,
              ...dropped,
            },
          }
        } finally {
          await fleet.close()
        }
      } finally {
        await bare.stop()
      }
    },
  }
}

/** `value at the headline size / value at the reference size`, 1 when both are 0. */
function growth(name: string, head: GroupResult, reference: GroupResult, arm: string, metric: string, target: number): TargetCheck {
  const [ours, base] = [armMedian(head, arm, metric), armMedian(reference, arm, metric)]
  const value = ours === 0 && base === 0 ? 1 : ours / base
  return absoluteTarget(name, value, '<=', target, [`${head.name} / ${arm}`, `${reference.name} / ${arm}`])
}

/** The targets: absolute ones at the headline size, and the headline size against the reference size. */
export function manySchoolsTargets(
  groups: GroupResult[],
  p: Pick<ManySchoolsParams, 'headline' | 'reference' | 'perSchool' | 'rates'>,
  arm: string,
): { targets: TargetCheck[]; notes: string[] } {
  const head = groups.find((group) => group.name === groupName(p.headline, p.perSchool))!
  const reference = groups.find((group) => group.name === groupName(p.reference, p.perSchool))!
  const at = `${p.headline} schools idle`
  const cpuOverBare = (armMedian(head, arm, 'serverCpu') - armMedian(head, BARE_ARM, 'serverCpu')) * 100
  const targets: TargetCheck[] = [
    absoluteTarget(`${at}: realtime CPU - bare ws CPU, percentage points of a core`, cpuOverBare, '<=', CPU_OVER_BARE_POINTS, [`${head.name} / ${arm}`, `${head.name} / ${BARE_ARM}`]),
    absoluteTarget(`${at}: Redis commands/s (api + realtime)`, armMedian(head, arm, 'redisCommandsPerSecond'), '<=', REDIS_COMMANDS_PER_SECOND, [`${head.name} / ${arm}`]),
    absoluteTarget(`${at}: PostgreSQL transactions/s (api + realtime)`, armMedian(head, arm, 'pgTransactionsPerSecond'), '<=', PG_TRANSACTIONS_PER_SECOND, [`${head.name} / ${arm}`]),
    ratioTarget(`${at}: heap per connection vs bare ws`, head, arm, BARE_ARM, 'heapBytesPerConnection', '<=', HEAP_VS_BARE),
  ]
  const notes: string[] = []
  if (head === reference) {
    notes.push(`Only one size (${p.headline} schools): the comparisons with the reference size are left out.`)
    return { targets, notes }
  }
  const vs = `${p.headline} / ${p.reference} schools`
  const lowest = Math.min(...p.rates)
  targets.push(
    growth(`idle realtime CPU, ${vs}`, head, reference, arm, 'serverCpu', GROWTH_FROM_REFERENCE),
    growth(`idle Redis commands/s, ${vs}`, head, reference, arm, 'redisCommandsPerSecond', GROWTH_FROM_REFERENCE),
    growth(`idle PostgreSQL transactions/s, ${vs}`, head, reference, arm, 'pgTransactionsPerSecond', GROWTH_FROM_REFERENCE),
    growth(`p99 at ${lowest} invitations/s, ${vs}`, head, reference, arm, `load${lowest}P99Ms`, 1),
  )
  return { targets, notes }
}

export const manySchoolsScenario: Scenario = {
  name: 'many-schools',
  description: 'idle cost of thousands of schools with 1-5 dashboards each (CPU, heap, Redis, PostgreSQL) vs bare ws, and invitation latency at fixed rates',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const groups: GroupResult[] = []
    const seedSeconds: Record<number, number> = {}
    for (const size of p.sizes) {
      const world = await createBenchWorld(`many_schools_${size}`)
      try {
        const seeding = performance.now()
        const schools = await seedSchools(world.prisma, size, p.perSchool, `ms${size}`)
        seedSeconds[size] = Math.round((performance.now() - seeding) / 100) / 10
        process.stderr.write(`[bench] many-schools: ${size} schools x ${p.perSchool} members seeded in ${seedSeconds[size]} s\n`)
        const context: SizeContext = { world, schools, p, invitationsSent: 0 }
        groups.push(await runAlternating(groupName(size, p.perSchool), [realtimeArm(context), bareArm(context)], options.rounds))
      } finally {
        await world.close()
      }
    }
    const arm = `realtime ${p.transport}`
    const { targets, notes } = manySchoolsTargets(groups, p, arm)
    const mode = options.quick ? 'quick' : 'full'
    const chart = await writeIdleCostChart(groups, options.outDir, mode, `many-schools, ${p.perSchool} dashboards per school (${p.transport}), ${mode} mode.`, {
      redisPerSecond: REDIS_COMMANDS_PER_SECOND,
      pgPerSecond: PG_TRANSACTIONS_PER_SECOND,
    })
    const invitationsPerRound = p.rates.reduce((sum, rate) => sum + Math.max(1, Math.round(rate * p.loadWarmupSeconds)) + Math.max(1, Math.round(rate * p.loadSeconds)), 0)
    const perSchoolAtMost = Math.ceil((invitationsPerRound * options.rounds) / Math.min(...p.sizes))
    return {
      groups,
      targets,
      voidOnSaturation: true,
      params: { ...p, seedSeconds, chart, invitationsPerSchoolAtMost: perSchoolAtMost },
      notes: [
        ...notes,
        `Per size a fresh world: ${p.perSchool} members per school (one school_owner, the rest school_admin) seeded with set-based SQL, with their member.joined events (enqueued and applied), last_event_seq and dashboard projections in step (seconds: ${JSON.stringify(seedSeconds)}); one dashboard per member.`,
        `The api and realtime services run with their default configuration: only ${SERVICE_ENV_KEYS.join(', ')} (and the harness's HOST, PORT=0, NODE_ENV=test, LOG_LEVEL=info); so the per-address connection limits apply, and the dashboards connect from loopback addresses ${DASHBOARDS_PER_SOURCE_ADDRESS} at a time (127.0.0.1, 127.0.0.2, ...).`,
        `Idle window: ${p.idleSeconds} s once every dashboard has its first message, the servers are quiet (or 10 s passed) and ${p.settleSeconds} s more. serverCpu: the realtime (or bare ws) process, apiCpu: the api, shares of one core.`,
        'redisCommandsPerSecond: commands sent by the api and realtime processes\' connections (MONITOR, attributed by local port, as scale-out does; this process\'s own commands are on other connections and excluded; commands inside Lua scripts count once, as their EVALSHA). redisServerCommandsPerSecond: INFO total_commands_processed over the window, every client of the shared Redis (other tenants too); in the bare ws arm it is only the background.',
        'pgTransactionsPerSecond: pg_stat_database xact_commit + xact_rollback of the world\'s database over the window, read from the postgres database (the reads are not counted). PostgreSQL 15 backends report at most once a second and an idle one up to 10 s late, so a short window is approximate.',
        'Heap and RSS per connection: (post-GC sample with every dashboard open, after the idle window - post-GC sample of the empty server after a warm-up) / dashboards; the realtime figure includes its per-school state.',
        `Load: invitations (POST .../invitations/ as the school's owner, a unique email each) at ${p.rates.join(' and ')}/s for ${p.loadSeconds} s after a ${p.loadWarmupSeconds} s warm-up at the same rate, round robin over the schools; latency = receipt of the invitation_status_update by each dashboard of the school - start of the POST (every dashboard, every invitation); delivered = timed deliveries / (accepted POSTs x dashboards per school), within ${p.deliveryTimeoutMs} ms of the last answer. everyDashboardP99Ms (JSON detail): per invitation, until the last dashboard of its school had it.`,
        `The api keeps its default quota of ${INVITATION_QUOTA_PER_HOUR} invitations per school and hour: this run sends at most ${perSchoolAtMost} per school${perSchoolAtMost > INVITATION_QUOTA_PER_HOUR ? ', MORE than the quota: POSTs beyond it are refused (429, in the statuses of the JSON detail)' : ', under it'}.`,
        ...(process.env[CPU_PROFILE_DIR_ENV]
          ? ['--cpu-prof: besides the whole-life profiles, idle-<schools>-<process>-*.cpuprofile cover only the idle windows; every figure of this run includes the profilers\' own cost.']
          : []),
        ...(p.transport === 'socket.io' ? ['The bare ws arm holds plain WebSocket connections whatever the transport (it has no Socket.IO).'] : []),
        ...(p.capped
          ? [
              `Descriptor limit ${p.descriptorLimit} (it could not be raised: prlimit needs CAP_SYS_RESOURCE above the hard limit): every dashboard is a descriptor in the server and one in this process, so ${p.capped.map(({ requested, schools }) => `${requested} schools became ${schools}`).join(', ')}.`,
            ]
          : []),
      ],
    }
  },
}
