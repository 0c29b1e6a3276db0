// The stage breakdown's arithmetic on known exposition text: the parser, the bucket deltas between two
// scrapes, and quantiles as Prometheus' histogram_quantile() computes them.
import t from 'tap'
import { counterOf, histogramDelta, histogramOf, histogramQuantile, observations, parseExposition } from '../src/harness/prometheus-histograms.js'

function exposition(counts: { write: number[]; enqueue: number[] }, sums: { write: number; enqueue: number }): string {
  const bounds = ['0.1', '0.2', '0.5', '+Inf']
  const lines = ['# HELP school_event_stage_seconds Time a school event spent in each stage.', '# TYPE school_event_stage_seconds histogram']
  for (const stage of ['write', 'enqueue'] as const) {
    bounds.forEach((le, i) => lines.push(`school_event_stage_seconds_bucket{le="${le}",stage="${stage}",service="api"} ${counts[stage][i]}`))
    lines.push(`school_event_stage_seconds_sum{stage="${stage}",service="api"} ${sums[stage]}`)
    lines.push(`school_event_stage_seconds_count{stage="${stage}",service="api"} ${counts[stage][3]}`)
  }
  lines.push('http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/accounts/schools/:id/invitations",status_code="201",service="api"} 7')
  lines.push('process_cpu_seconds_total{service="api"} 1.25', '')
  return lines.join('\n')
}

t.test('parses samples with their labels and special values', async (t) => {
  const samples = parseExposition('a_total{x="say \\"hi\\"",y="b\\\\c"} 3\nb_bucket{le="+Inf"} 4\n# comment\nc 1e-3\n')
  t.same(samples, [
    { name: 'a_total', labels: { x: 'say "hi"', y: 'b\\c' }, value: 3 },
    { name: 'b_bucket', labels: { le: '+Inf' }, value: 4 },
    { name: 'c', labels: {}, value: 0.001 },
  ])
})

t.test('reads one stage of a histogram and what was observed between two scrapes', async (t) => {
  const before = parseExposition(exposition({ write: [1, 2, 3, 3], enqueue: [5, 5, 5, 5] }, { write: 0.4, enqueue: 0.2 }))
  const after = parseExposition(exposition({ write: [11, 22, 33, 43], enqueue: [9, 9, 9, 9] }, { write: 10.4, enqueue: 0.3 }))
  const write = (labels: Record<string, string>) => labels.stage === 'write'
  const delta = histogramDelta(histogramOf(before, 'school_event_stage_seconds', write), histogramOf(after, 'school_event_stage_seconds', write))
  t.same(delta.bounds, [0.1, 0.2, 0.5, Number.POSITIVE_INFINITY])
  t.same(delta.cumulative, [10, 20, 30, 40])
  t.equal(observations(delta), 40)
  t.equal(Math.round(delta.sum * 1000) / 1000, 10)
  // Without a filter the stages are summed bucket by bucket.
  t.same(histogramOf(after, 'school_event_stage_seconds').cumulative, [20, 31, 42, 52])
})

t.test('estimates quantiles as histogram_quantile does', async (t) => {
  const h = { bounds: [0.1, 0.2, 0.5, Number.POSITIVE_INFINITY], cumulative: [10, 20, 30, 40], sum: 10 }
  t.equal(histogramQuantile(0.25, h), 0.1, 'rank 10: the top of the first bucket')
  t.equal(histogramQuantile(0.125, h), 0.05, 'the first bucket starts at 0')
  t.equal(histogramQuantile(0.5, h), 0.2)
  t.equal(Math.round(histogramQuantile(0.6, h) * 1e9) / 1e9, 0.32, 'rank 24: 4 of the 10 in (0.2, 0.5]')
  t.equal(histogramQuantile(0.99, h), 0.5, 'in the +Inf bucket: the highest finite bound')
  t.ok(Number.isNaN(histogramQuantile(0.5, { ...h, cumulative: [0, 0, 0, 0] })), 'NaN without observations')
  t.ok(Number.isNaN(histogramQuantile(0.5, { bounds: [], cumulative: [], sum: 0 })), 'NaN for a histogram not exposed')
})

t.test("sums a counter's series, all of them or those whose labels pass", async (t) => {
  const samples = parseExposition('projection_advances_total{source="memory",service="realtime"} 7\nprojection_advances_total{source="log",service="realtime"} 3\nother_total 5\n')
  t.equal(counterOf(samples, 'projection_advances_total'), 10)
  t.equal(counterOf(samples, 'projection_advances_total', (labels) => labels.source === 'memory'), 7)
  t.equal(counterOf(samples, 'absent_total'), 0)
})
