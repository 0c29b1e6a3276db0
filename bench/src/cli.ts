// `npm run bench -- <scenario> [--quick] [--rounds N] [--clients N] [--out DIR]`: runs one scenario (or `all`), prints a
// markdown table and writes the JSON results (many-schools also takes --schools, --per-school, --transport;
// latency --schools, the schools of its spread cells);
// `chart <result.json> <out.svg>` redraws the chart of a fanout, scale-out, churn or many-schools result; `--cpu-prof` has every server write a CPU profile and prints where its time went
// (`profile <file>` re-reads one).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { renderChurnSvg } from './charts/churn-chart.js'
import { renderFanoutSvg } from './charts/fanout-chart.js'
import { renderIdleCostSvg } from './charts/idle-cost-chart.js'
import { closeOpenWorlds } from './harness/bench-world.js'
import { pinGenerator } from './harness/pinning.js'
import { CPU_PROFILE_DIR_ENV, serverSettingsFromEnv } from './harness/pinned-process.js'
import { profileTable, summarizeProfileFile } from './profiles/cpu-profile-summary.js'
import { currentLoad, machineInfo, markdownTable, voidReasons, writeResult, type ScenarioResult } from './harness/result-file.js'
import type { BenchOptions, Scenario } from './harness/scenario.js'
import { churnScenario } from './scenarios/churn.js'
import { fanoutScenario } from './scenarios/fanout.js'
import { ingestScenario } from './scenarios/ingest.js'
import { latencyScenario } from './scenarios/latency.js'
import { manySchoolsScenario, PG_TRANSACTIONS_PER_SECOND, REDIS_COMMANDS_PER_SECOND } from './scenarios/many-schools.js'
import { memoryScenario } from './scenarios/memory.js'
import { queueScenario } from './scenarios/queue.js'
import { scaleOutScenario } from './scenarios/scale-out.js'

const SCENARIOS: Scenario[] = [ingestScenario, fanoutScenario, latencyScenario, memoryScenario, churnScenario, queueScenario, scaleOutScenario, manySchoolsScenario]
const DEFAULT_OUT = fileURLToPath(new URL('../results/', import.meta.url))

function usage(): string {
  return [
    'usage: npm run bench -- <scenario|all> [--quick] [--rounds N] [--clients N] [--out DIR] [--cpu-prof]',
    '       npm run bench -- many-schools [--schools N] [--per-school K] [--transport websocket|socket.io] [--quick] [--rounds N]',
    '       npm run bench -- latency [--clients N] [--schools N] [--quick] [--rounds N]',
    '       npm run bench -- chart <fanout|scale-out|churn|many-schools-result.json> <out.svg>',
    '       npm run bench -- profile <file.cpuprofile>...',
    '',
    '--cpu-prof: every server writes a V8 CPU profile into <out>/profiles-<date>/ when it stops, and a',
    '            summary of each (self time per owner and per function) is printed and saved beside it.',
    '--schools N: many-schools measures 1,000 and N schools (quick: 20 and N) instead of 1,000, 5,000 and',
    '            10,000, and checks its targets at N; --per-school K: dashboards per school (default 2).',
    '            latency: its spread cells have N schools x 2 dashboards (default 1,000; quick 20);',
    '            --clients N: its one-school cells have N subscribers (one size instead of 1,000 and 10,000).',
    '',
    'scenarios:',
    ...SCENARIOS.map((scenario) => `  ${scenario.name.padEnd(12)} ${scenario.description}`),
  ].join('\n')
}

async function runScenario(scenario: Scenario, options: BenchOptions): Promise<ScenarioResult> {
  const { quick, rounds, outDir } = options
  const pinning = pinGenerator()
  const loadBefore = currentLoad()
  const started = performance.now()
  const date = new Date().toISOString()
  const report = await scenario.run(options)
  const reasons = voidReasons(report)
  const result: ScenarioResult = {
    scenario: scenario.name,
    mode: quick ? 'quick' : 'full',
    rounds,
    date,
    command: [...Object.entries(serverSettingsFromEnv()).map(([name, value]) => `${name}=${value}`), 'node', ...process.argv.slice(1)].join(' '),
    machine: machineInfo(),
    load: { before: loadBefore, after: currentLoad() },
    pinning,
    ...report,
    voided: reasons.length > 0,
    voidReasons: reasons,
    durationSeconds: Math.round((performance.now() - started) / 1000),
  }
  const file = await writeResult(result, outDir)
  console.log(markdownTable(result))
  console.log(`\nresults: ${file}\n`)
  return result
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      out: { type: 'string' },
      clients: { type: 'string' },
      schools: { type: 'string' },
      'per-school': { type: 'string' },
      transport: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [command, ...rest] = positionals
  if (values.help || !command) {
    console.log(usage())
    return
  }
  if (command === 'chart') {
    const [input, output] = rest
    if (!input || !output) throw new Error('chart needs <result.json> <out.svg>')
    const result = JSON.parse(await readFile(input, 'utf8')) as ScenarioResult
    const group = result.groups[0]
    if (result.scenario === 'many-schools' && group) {
      const { perSchool, transport } = result.params as { perSchool: number; transport: string }
      const caption = `many-schools, ${perSchool} dashboards per school (${transport}), ${result.mode} mode, ${result.date.slice(0, 10)}.`
      await writeFile(output, renderIdleCostSvg(result.groups, caption, { redisPerSecond: REDIS_COMMANDS_PER_SECOND, pgPerSecond: PG_TRANSACTIONS_PER_SECOND }))
      console.log(`chart: ${output}`)
      return
    }
    const render = { fanout: renderFanoutSvg, 'scale-out': renderFanoutSvg, churn: renderChurnSvg }[result.scenario]
    if (!render || !group) throw new Error(`${input} is not a fanout, scale-out, churn or many-schools result`)
    await writeFile(output, render(group, `${group.name}, ${result.mode} mode, ${result.date.slice(0, 10)}.`))
    console.log(`chart: ${output}`)
    return
  }
  if (command === 'profile') {
    if (rest.length === 0) throw new Error('profile needs one or more .cpuprofile files')
    for (const file of rest) console.log(`${profileTable(await summarizeProfileFile(file))}\n`)
    return
  }
  const quick = values.quick
  const rounds = values.rounds ? Number(values.rounds) : quick ? 1 : 3
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, not ${values.rounds}`)
  const outDir = values.out ?? DEFAULT_OUT
  const chosen = command === 'all' ? SCENARIOS : SCENARIOS.filter((scenario) => scenario.name === command)
  if (chosen.length === 0) throw new Error(`unknown scenario "${command}"\n\n${usage()}`)
  const clients = positiveInteger('--clients', values.clients)
  const schools = positiveInteger('--schools', values.schools)
  const perSchool = positiveInteger('--per-school', values['per-school'])
  const transport = values.transport
  if (transport !== undefined && transport !== 'websocket' && transport !== 'socket.io') throw new Error(`--transport must be websocket or socket.io, not ${transport}`)
  let profileDir: string | undefined
  if (values['cpu-prof']) {
    profileDir = join(outDir, `profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    await mkdir(profileDir, { recursive: true })
    process.env[CPU_PROFILE_DIR_ENV] = profileDir
  }
  for (const scenario of chosen) await runScenario(scenario, { quick, rounds, outDir, clients, schools, perSchool, transport })
  if (profileDir) await summarizeProfiles(profileDir)
}

function positiveInteger(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, not ${raw}`)
  return value
}

/** Prints and saves (as `summary.md`) where each profiled server spent its time. */
async function summarizeProfiles(dir: string): Promise<void> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.cpuprofile')).sort()
  const tables: string[] = []
  for (const file of files) tables.push(profileTable(await summarizeProfileFile(join(dir, file))))
  await writeFile(join(dir, 'summary.md'), `${tables.join('\n\n')}\n`)
  console.log(`${tables.join('\n\n')}\n\nprofiles: ${dir}`)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`[bench] ${signal}: cleaning up`)
    void closeOpenWorlds().finally(() => process.exit(130))
  })
}

// A failure no scenario awaited would otherwise end the process before its worlds are removed (a throwaway
// database and Redis keys left behind, as a latency run once did).
process.once('unhandledRejection', (error) => {
  console.error('[bench] unhandled rejection:', error)
  void closeOpenWorlds().finally(() => process.exit(1))
})

main().then(
  // Open handles (keep-alive agents, client sockets being torn down) must not keep a finished run alive.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  },
)
