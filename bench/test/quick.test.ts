// Runs the scenarios end to end in --quick mode through the CLI, as CI does, so the bench cannot rot:
// checks the JSON results have every group and arm, finite medians and finite targets (no performance
// thresholds). Ingest and queue are left to `npm run bench -- all --quick`.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import type { ScenarioResult } from '../src/harness/result-file.js'

const run = promisify(execFile)
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

async function runQuick(scenario: string, outDir: string): Promise<{ result: ScenarioResult; stdout: string }> {
  const { stdout } = await run(process.execPath, [CLI, scenario, '--quick', '--out', outDir], { timeout: 90_000 })
  const files = (await readdir(outDir)).filter((file) => file.startsWith(`${scenario}-quick-`) && file.endsWith('.json'))
  if (files.length !== 1) throw new Error(`expected one ${scenario} result in ${outDir}, found ${files.join(', ')}`)
  return { result: JSON.parse(await readFile(join(outDir, files[0]!), 'utf8')) as ScenarioResult, stdout }
}

function checkShape(t: Test, result: ScenarioResult, scenario: string, arms: string[], metrics: string[], groups = 1): void {
  t.equal(result.scenario, scenario)
  t.equal(result.mode, 'quick')
  t.equal(result.rounds, 1)
  t.match(result.machine, { cpu: String, cores: Number, node: process.version })
  t.ok(Number.isFinite(result.load.before) && Number.isFinite(result.load.after), 'records the load around the run')
  t.type(result.voided, 'boolean')
  t.equal(result.groups.length, groups, `${groups} group(s)`)
  for (const group of result.groups) {
    t.same(
      group.arms.map((arm) => arm.name),
      arms,
    )
    for (const arm of group.arms) {
      t.equal(arm.runs.length, 1, `${group.name} / ${arm.name} ran once`)
      for (const metric of metrics) t.ok(Number.isFinite(arm.median[metric]), `${group.name} / ${arm.name} ${metric} = ${arm.median[metric]}`)
      t.ok(arm.generatorCpuMax >= 0 && Number.isFinite(arm.generatorCpuMax), `${arm.name} generator CPU is accounted`)
    }
  }
  t.ok(result.targets.length > 0, 'checks targets')
  for (const target of result.targets) t.ok(Number.isFinite(target.value), `${target.name} = ${target.value}`)
}

t.before(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build the bench first (npx turbo run build --filter=@school/bench)`)
})

t.test('fanout --quick delivers every message on all four arms, Socket.IO beside bare Socket.IO, and draws its chart', async (t) => {
  const outDir = t.testdir()
  const { result, stdout } = await runQuick('fanout', outDir)
  checkShape(t, result, 'fanout', ['realtime socket.io', 'realtime websocket', 'bare ws', 'bare socket.io'], ['maxEventsPerSecond', 'deliveredPerSecond', 'p99AtMaxMs'])
  for (const arm of result.groups[0]!.arms) t.ok(arm.median.deliveredPerSecond! > 0, `${arm.name} delivered messages`)
  t.match(
    result.targets.find((target) => target.name === 'socket.io / bare socket.io, delivered msg/s'),
    { comparison: '>=', target: 0.9, arms: ['20 clients / realtime socket.io', '20 clients / bare socket.io'] },
    'Socket.IO against bare Socket.IO',
  )
  t.match(stdout, /\| realtime websocket \|/, 'prints a markdown table')
  t.ok((await readdir(outDir)).some((file) => file.endsWith('.svg')), 'writes an SVG chart')
})

t.test('memory --quick samples the heap and RSS of each server', async (t) => {
  const outDir = t.testdir()
  const { result } = await runQuick('memory', outDir)
  checkShape(t, result, 'memory', ['realtime websocket', 'realtime socket.io', 'bare ws', 'bare socket.io'], ['connections', 'heapBytesPerConnection', 'rssBytesPerConnection'])
  t.match(
    result.targets.find((target) => target.name === 'socket.io heap/conn vs bare socket.io'),
    { comparison: '<=', target: 1.3, arms: ['200 idle connections / realtime socket.io', '200 idle connections / bare socket.io'] },
    'Socket.IO against bare Socket.IO',
  )
  for (const arm of result.groups[0]!.arms) {
    t.equal(arm.median.connections, 200, `${arm.name} reached every connection`)
    const samples = (arm.runs[0]!.detail as { samples: unknown[] }).samples
    t.equal(samples.length, 5, 'a sample when empty and after each step')
  }
})

t.test('latency --quick times every delivery of every POST: one school beside bare ws, and spread over schools beside the minimal pipeline, stage by stage', async (t) => {
  const outDir = t.testdir()
  const { result, stdout } = await runQuick('latency', outDir)
  t.same(
    result.groups.map((group) => group.name),
    ['20 subscribers, 10 events/s', '20 subscribers, 40 events/s', '20 schools x 2 dashboards, 10 invitations/s', '20 schools x 2 dashboards, 20 invitations/s'],
  )
  const oneSchool = { ...result, groups: result.groups.slice(0, 2) }
  const spread = { ...result, groups: result.groups.slice(2) }
  checkShape(t, oneSchool, 'latency', ['realtime websocket', 'realtime socket.io', 'bare ws'], ['p50Ms', 'p95Ms', 'p99Ms', 'maxMs', 'deliveryRatio', 'serverCpu'], 2)
  for (const group of oneSchool.groups) {
    for (const arm of group.arms) {
      const detail = arm.runs[0]!.detail as { published: number; expected: number; delivered: number; subscribers: number }
      t.equal(detail.subscribers, 20)
      t.ok(detail.published > 0, `${group.name} / ${arm.name} published events`)
      // Every activity_new was matched to its POST: the correlation by name works on both transports.
      t.equal(detail.delivered, detail.expected, `${group.name} / ${arm.name}: every delivery timed`)
      t.ok(arm.median.p50Ms! <= arm.median.p99Ms! && arm.median.p99Ms! <= arm.median.maxMs!, 'p50 <= p99 <= max')
    }
  }
  const split = ['postToEmissionP50Ms', 'postToEmissionP99Ms', 'emissionToReceiptP50Ms', 'emissionToReceiptP99Ms']
  const spreadMetrics = ['p50Ms', 'p95Ms', 'p99Ms', 'maxMs', 'deliveryRatio', 'everyDashboardP99Ms', 'serverCpu', ...split]
  checkShape(t, spread, 'latency', ['realtime websocket', 'realtime socket.io', 'minimal pipeline'], spreadMetrics, 2)
  const stages = ['apiRequest', 'write', 'enqueue', 'queueWait', 'projection', 'commitToEmit']
  let passesFromMemory = 0
  for (const group of spread.groups) {
    for (const arm of group.arms) {
      const detail = arm.runs[0]!.detail as {
        accepted: number
        expected: number
        delivered: number
        misdelivered: number
        duplicates: number
        dashboards: number
        stages?: Record<string, { count: number }>
        projectionPasses?: { memory: number; log: number }
      }
      t.equal(detail.dashboards, 40, `${group.name} / ${arm.name}: both dashboards of every school open`)
      t.ok(detail.accepted > 0, `${group.name} / ${arm.name}: invitations accepted`)
      t.equal(detail.expected, detail.accepted * 2, 'each goes to both dashboards of its school')
      // Every update was matched to its POST and reached exactly the dashboards of its school, on every arm.
      t.equal(detail.delivered, detail.expected, `${group.name} / ${arm.name}: every delivery timed`)
      t.equal(detail.misdelivered, 0, 'none reached another school')
      t.equal(detail.duplicates, 0, 'none twice')
      const { p50Ms, p95Ms, p99Ms, maxMs } = arm.median
      t.ok(p50Ms! <= p95Ms! && p95Ms! <= p99Ms! && p99Ms! <= maxMs!, 'p50 <= p95 <= p99 <= max')
      // Both servers of every arm were sampled over the window: their loops ran and their collections counted.
      for (const side of ['post', 'delivery']) {
        const late = [arm.median[`${side}LoopP99Ms`]!, arm.median[`${side}LoopMaxMs`]!]
        t.ok(late.every((ms) => ms >= 0) && late[0]! <= late[1]!, `${group.name} / ${arm.name}: ${side} server's loop sampled, p99 <= max (${late.join(' / ')})`)
        const gc = [arm.median[`${side}GcMs`]!, arm.median[`${side}GcMaxMs`]!]
        t.ok(gc.every((ms) => ms >= 0) && gc[1]! <= gc[0]!, `${group.name} / ${arm.name}: ${side} server's GC, longest <= total (${gc.join(' / ')})`)
      }
      if (arm.name === 'minimal pipeline') {
        t.notOk(detail.stages, 'the minimal pipeline has the client-side split only')
        continue
      }
      // The histograms of both services were read around the window: each saw every invitation once.
      for (const stage of stages) {
        t.equal(detail.stages?.[stage]?.count, detail.accepted, `${group.name} / ${arm.name}: ${stage} observed once per invitation`)
        t.ok(Number.isFinite(arm.median[`${stage}P99Ms`]), `${stage} p99 = ${arm.median[`${stage}P99Ms`]}`)
      }
      passesFromMemory += detail.projectionPasses?.memory ?? 0
      t.ok((detail.projectionPasses?.memory ?? 0) + (detail.projectionPasses?.log ?? 0) > 0, `${group.name} / ${arm.name}: the window's projection passes counted by source`)
    }
  }
  // The services are shared by the cells: a school's later invitations follow the row its earlier pass left,
  // and the API's jobs carry their events, so those passes skip the read.
  t.ok(passesFromMemory > 0, `projection passes from memory over the spread cells: ${passesFromMemory}`)
  const ratios = result.targets.filter((target) => / p99 \/ minimal pipeline p99$/.test(target.name))
  t.equal(ratios.length, 4, 'each transport against the minimal pipeline in each spread cell')
  t.match(stdout, /pipeline adds [\d.]+ ms p99 over the bare ws baseline/, 'says what the pipeline adds')
  t.match(stdout, /\*\*Where the time goes\*\*/, 'prints the stage breakdown')
  t.match(stdout, /\| realtime socket\.io \| [\d.]+ \/ [\d.]+ \|/, 'with p50 / p99 per stage')
  t.match(stdout, /the largest p99 of the steps is /, 'and says which stage holds the tail')
  t.match(stdout, /\*\*Pauses in the servers over the window\*\*/, 'prints the servers\' pauses')
  t.match(stdout, /\| minimal pipeline \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \|/, 'for both servers of every arm')
})

t.test('churn --quick samples the heap through the soak and counts connection objects with a heap snapshot', async (t) => {
  const outDir = t.testdir()
  const { result } = await runQuick('churn', outDir)
  checkShape(t, result, 'churn', ['realtime websocket', 'bare ws'], ['heapStartMiB', 'soakVsStart', 'leaveVsEmpty', 'retainedConnectionObjects', 'churnConnectsPerSecond'])
  for (const arm of result.groups[0]!.arms) {
    // The census sees each steady connection: it would see one left behind too.
    t.equal(arm.median.webSocketsAtStart, 50, `${arm.name}: the census counts the 50 steady WebSockets`)
    t.equal(arm.median.failedConnects, 0, `${arm.name}: every churning client connected`)
    const { points, census } = arm.runs[0]!.detail as { points: Array<{ phase: string }>; census: { start: { counts: Record<string, number> } } }
    if (arm.name === 'realtime websocket') {
      // The service's own per-connection classes are counted by name: a rename must be followed in CENSUS_NAMES.
      t.equal(census.start.counts.PlainConnection, 50, 'the census counts the realtime PlainConnection objects')
      t.equal(census.start.counts.DashboardStream, 50, 'and their DashboardStreams')
    }
    t.same(
      points.map((point) => point.phase),
      ['empty', 'start', 'soak', 'after soak', 'after leave'],
    )
  }
  t.ok((await readdir(outDir)).some((file) => file.startsWith('churn-') && file.endsWith('.svg')), 'writes an SVG chart')
})

t.test('scale-out --quick spreads the clients over the instances behind haproxy and counts Redis commands', async (t) => {
  const outDir = t.testdir()
  const { result } = await runQuick('scale-out', outDir)
  checkShape(t, result, 'scale-out', ['1 realtime instance', '2 realtime instances'], ['deliveredPerSecond', 'redisCommandsPerEvent', 'redisCommandsPerDelivered'])
  for (const arm of result.groups[0]!.arms) {
    t.ok(arm.median.deliveredPerSecond! > 0, `${arm.name} delivered messages`)
    t.ok(arm.median.redisCommandsPerEvent! > 0, `${arm.name}: Redis commands attributed to our processes`)
    const detail = arm.runs[0]!.detail as { clientsPerInstance: number[]; redisCommands: Record<string, number> }
    t.equal(detail.clientsPerInstance.reduce((sum, n) => sum + n, 0), 30, `${arm.name}: haproxy holds every client`)
    t.ok(Math.min(...detail.clientsPerInstance) > 0, `${arm.name}: every instance has clients (${detail.clientsPerInstance.join('/')})`)
    t.ok(detail.redisCommands.SPUBLISH! > 0, 'the adapter publishes each message')
  }
  t.ok((await readdir(outDir)).some((file) => file.startsWith('scale-out-') && file.endsWith('.svg')), 'writes an SVG chart')
})

t.test('many-schools --quick opens every dashboard of every school, measures the idle cost beside bare ws, and times every invitation to every dashboard', async (t) => {
  const outDir = t.testdir()
  const { result, stdout } = await runQuick('many-schools', outDir)
  const idleMetrics = ['schools', 'dashboards', 'serverCpu', 'heapBytesPerConnection', 'rssBytesPerConnection', 'redisServerCommandsPerSecond', 'pgTransactionsPerSecond']
  const params = result.params as { sizes: number[]; perSchool: number; rates: number[]; reference: number; headline: number }
  t.same(params.sizes, [50], 'one size')
  t.equal(params.perSchool, 2)
  t.same(
    result.groups.map((group) => group.name),
    ['50 schools x 2 dashboards'],
  )
  for (const [index, group] of result.groups.entries()) {
    const schools = params.sizes[index]!
    t.same(
      group.arms.map((arm) => arm.name),
      ['realtime websocket', 'bare ws'],
    )
    for (const arm of group.arms) {
      t.equal(arm.runs.length, 1, `${group.name} / ${arm.name} ran once`)
      const metrics = arm.name === 'bare ws' ? idleMetrics : [...idleMetrics, 'apiCpu', 'redisCommandsPerSecond']
      for (const metric of metrics) t.ok(Number.isFinite(arm.median[metric]), `${group.name} / ${arm.name} ${metric} = ${arm.median[metric]}`)
      t.equal(arm.median.schools, schools)
      t.equal(arm.median.dashboards, schools * 2, `${group.name} / ${arm.name}: every dashboard open`)
      t.equal(arm.median.droppedDashboards, 0, `${group.name} / ${arm.name}: none dropped while idle`)
    }
    const realtime = group.arms[0]!
    const detail = realtime.runs[0]!.detail as {
      redisConnections: Record<string, number>
      load: Array<{ invitationsPerSecond: number; accepted: number; expected: number; delivered: number; misdelivered: number; duplicates: number }>
    }
    // The services' commands are counted on their own connections; a 3 s window may see none of their 5 s timers.
    t.ok(detail.redisConnections.api! > 0 && detail.redisConnections.realtime! > 0, `${group.name}: the services' Redis connections are found`)
    const load = detail.load
    t.same(
      load.map((window) => window.invitationsPerSecond),
      params.rates,
    )
    for (const window of load) {
      t.ok(window.accepted > 0, `${group.name}, ${window.invitationsPerSecond}/s: invitations accepted`)
      t.equal(window.expected, window.accepted * 2, 'each goes to both dashboards of its school')
      // Every update was matched to its POST and reached exactly the dashboards of its school.
      t.equal(window.delivered, window.expected, `${group.name}, ${window.invitationsPerSecond}/s: every delivery timed`)
      t.equal(window.misdelivered, 0, 'none reached another school')
      t.equal(window.duplicates, 0, 'none twice')
      const p50 = realtime.median[`load${window.invitationsPerSecond}P50Ms`]!
      const p99 = realtime.median[`load${window.invitationsPerSecond}P99Ms`]!
      t.ok(p50 > 0 && p50 <= p99, 'p50 <= p99')
    }
  }
  // One size: the comparisons with a reference size are left out (test/many-schools-targets.test.ts has them).
  t.equal(result.targets.length, 4, 'the targets at the headline size')
  for (const target of result.targets) t.ok(Number.isFinite(target.value), `${target.name} = ${target.value}`)
  t.match(stdout, /\| realtime websocket \|/, 'prints a markdown table')
  t.ok((await readdir(outDir)).some((file) => file.startsWith('many-schools-') && file.endsWith('.svg')), 'writes its chart')
})
