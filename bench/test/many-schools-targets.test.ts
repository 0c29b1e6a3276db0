// The many-schools targets and chart on known figures: the idle costs at the headline size, each against
// its value at the reference size, and the p99 at the lowest rate (a --quick run has one size only, so
// its own test never reaches the comparisons).
import t from 'tap'
import { renderIdleCostSvg } from '../src/charts/idle-cost-chart.js'
import type { GroupResult } from '../src/harness/scenario.js'
import { manySchoolsTargets } from '../src/scenarios/many-schools.js'

function size(schools: number, realtime: Record<string, number>, bare: Record<string, number>): GroupResult {
  const arm = (name: string, metrics: Record<string, number>) => ({ name, runs: [{ metrics, generatorCpu: 0.1 }], median: metrics, generatorCpuMax: 0.1 })
  return {
    name: `${schools} schools x 2 dashboards`,
    arms: [arm('realtime websocket', { schools, ...realtime }), arm('bare ws', { schools, ...bare })],
  }
}

const reference = size(
  1000,
  { serverCpu: 0.04, apiCpu: 0.01, redisCommandsPerSecond: 20, pgTransactionsPerSecond: 0, heapBytesPerConnection: 4000, load50P99Ms: 40 },
  { serverCpu: 0.01, heapBytesPerConnection: 3000 },
)
const headline = size(
  5000,
  { serverCpu: 0.05, apiCpu: 0.01, redisCommandsPerSecond: 30, pgTransactionsPerSecond: 0, heapBytesPerConnection: 4800, load50P99Ms: 38 },
  { serverCpu: 0.015, heapBytesPerConnection: 3000 },
)
const p = { headline: 5000, reference: 1000, perSchool: 2, rates: [50, 200] }

t.test('checks the absolute targets at the headline size and the growth from the reference size', async (t) => {
  const { targets, notes } = manySchoolsTargets([reference, headline], p, 'realtime websocket')
  t.same(notes, [])
  const byName = Object.fromEntries(targets.map((target) => [target.name, target]))
  t.match(byName['5000 schools idle: realtime CPU - bare ws CPU, percentage points of a core'], { met: false, comparison: '<=', target: 3 })
  t.ok(Math.abs(byName['5000 schools idle: realtime CPU - bare ws CPU, percentage points of a core']!.value - 3.5) < 1e-9, '3.5 points over bare ws')
  t.match(byName['5000 schools idle: Redis commands/s (api + realtime)'], { value: 30, met: true })
  t.match(byName['5000 schools idle: PostgreSQL transactions/s (api + realtime)'], { value: 0, met: true })
  t.match(byName['5000 schools idle: heap per connection vs bare ws'], { value: 1.6, met: false })
  t.match(byName['idle realtime CPU, 5000 / 1000 schools'], { met: false })
  t.ok(Math.abs(byName['idle realtime CPU, 5000 / 1000 schools']!.value - 1.25) < 1e-9, '1.25x the reference')
  t.match(byName['idle Redis commands/s, 5000 / 1000 schools'], { value: 1.5, met: false })
  t.match(byName['idle PostgreSQL transactions/s, 5000 / 1000 schools'], { value: 1, met: true }, 'no transactions at either size is no growth')
  t.match(byName['p99 at 50 invitations/s, 5000 / 1000 schools'], { value: 0.95, met: true, target: 1 })
  t.same(byName['idle Redis commands/s, 5000 / 1000 schools']!.arms, ['5000 schools x 2 dashboards / realtime websocket', '1000 schools x 2 dashboards / realtime websocket'])
  t.equal(targets.length, 8)
})

t.test('leaves out the comparisons when only one size ran', async (t) => {
  const { targets, notes } = manySchoolsTargets([headline], { ...p, reference: 5000 }, 'realtime websocket')
  t.equal(targets.length, 4)
  t.match(notes, [/Only one size/])
})

t.test('draws the idle cost of every size in three panels with the targets', async (t) => {
  const svg = renderIdleCostSvg([reference, headline], 'caption.', { redisPerSecond: 50, pgPerSecond: 5 })
  t.match(svg, /^<svg /)
  for (const title of ['idle CPU, % of a core', 'Redis commands/s (api + realtime)', 'PostgreSQL transactions/s']) t.match(svg, title)
  // Realtime, api and bare ws CPU, Redis, PostgreSQL: one line each, through both sizes.
  t.equal(svg.match(/<polyline /g)?.length, 5)
  t.equal(svg.match(/stroke-dasharray/g)?.length, 2, 'the two targets')
})
