// The pass scheduler: one pass per school at a time, schools asked for together share a pass, and a
// request for an event already seen applied costs no pass.
import t from 'tap'
import type { ProjectionAdvance } from '@school/dashboard'
import { createProjectionPasses } from '../../src/worker/projection-passes.js'

/** A fake log per school: each pass "applies" up to the school's head when it starts, and ends when released. */
function harness(maxSchoolsPerPass = 64) {
  const heads = new Map<number, number>()
  const applied = new Map<number, number>()
  const passes: number[][] = []
  const carriedByPass: Array<Array<[number, string[]]>> = []
  const gates: Array<() => void> = []
  let failNext: Error | undefined
  const scheduler = createProjectionPasses<string>({
    maxSchoolsPerPass,
    async run(schools) {
      const schoolIds = [...schools.keys()]
      passes.push(schoolIds)
      carriedByPass.push([...schools].map(([id, carried]) => [id, [...carried]]))
      if (failNext) {
        const error = failNext
        failNext = undefined
        await new Promise<void>((resolve) => gates.push(resolve))
        throw error
      }
      // The pass reads the log when it starts, like the real one's snapshot.
      const results = new Map<number, ProjectionAdvance>()
      for (const id of schoolIds) {
        const head = heads.get(id)
        if (head === undefined) continue
        const from = applied.get(id) ?? 0
        applied.set(id, head)
        const events = Array.from({ length: head - from }, (_, i) => ({ seq: from + i + 1 }))
        results.set(id, { metrics: {} as never, lastSeq: head, applied: events as never, deadLettered: [] })
      }
      await new Promise<void>((resolve) => gates.push(resolve))
      return results
    },
  })
  /** Waits until a pass has started, then lets the oldest unfinished one end. */
  const releaseNext = async () => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve))
    gates.shift()!()
  }
  return { scheduler, heads, passes, carriedByPass, releaseNext, failWith: (error: Error) => (failNext = error) }
}

t.test('schools asked for in the same turn share one pass; the first request of a school is credited', async (t) => {
  const { scheduler, heads, passes, releaseNext } = harness()
  heads.set(1, 3).set(2, 5)
  const answers = Promise.all([scheduler.request(1, 1), scheduler.request(2, 4), scheduler.request(1, 3)])
  await releaseNext()
  t.same(await answers, [
    { lastSeq: 3, applied: 3, deadLettered: 0 },
    { lastSeq: 5, applied: 5, deadLettered: 0 },
    { lastSeq: 3, applied: 0, deadLettered: 0 },
  ])
  t.same(passes, [[1, 2]])
  t.equal(scheduler.appliedThrough(1), 3)
  t.equal(scheduler.appliedThrough(2), 5)
})

t.test('a request during a pass of its school waits for the next pass, which sees newer events', async (t) => {
  const { scheduler, heads, passes, releaseNext } = harness()
  heads.set(1, 2)
  const first = scheduler.request(1, 2)
  while (passes.length === 0) await new Promise((resolve) => setImmediate(resolve))
  heads.set(1, 4)
  const second = scheduler.request(1, 4)
  await releaseNext()
  t.same(await first, { lastSeq: 2, applied: 2, deadLettered: 0 })
  await releaseNext()
  t.same(await second, { lastSeq: 4, applied: 2, deadLettered: 0 })
  t.same(passes, [[1], [1]], 'never two passes of a school at once')
})

t.test('a request for an event already seen applied is answered without a pass', async (t) => {
  const { scheduler, heads, passes, releaseNext } = harness()
  heads.set(7, 10)
  const first = scheduler.request(7, 1)
  await releaseNext()
  await first
  t.same(await scheduler.request(7, 9), { lastSeq: 10, applied: 0, deadLettered: 0 })
  t.same(passes, [[7]])
})

t.test('a school that does not exist is answered with null, and more schools than a pass holds are split', async (t) => {
  const { scheduler, heads, passes, releaseNext } = harness(2)
  heads.set(1, 1).set(2, 1).set(3, 1)
  const answers = Promise.all([1, 2, 3, 4].map((id) => scheduler.request(id)))
  await releaseNext()
  await releaseNext()
  const results = await answers
  t.same(passes, [[1, 2], [3, 4]])
  t.same(results.map((r) => r?.lastSeq ?? null), [1, 1, 1, null])
})

t.test('a failed pass rejects its requests and the next request starts a new pass', async (t) => {
  const { scheduler, heads, passes, releaseNext, failWith } = harness()
  heads.set(1, 1)
  failWith(new Error('database down'))
  const failing = scheduler.request(1, 1)
  await releaseNext()
  await t.rejects(failing, /database down/)
  const retry = scheduler.request(1, 1)
  await releaseNext()
  t.same(await retry, { lastSeq: 1, applied: 1, deadLettered: 0 })
  t.equal(passes.length, 2)
})

t.test("a pass gets what its schools' requests carried, each school's in the order asked", async (t) => {
  const { scheduler, heads, carriedByPass, releaseNext } = harness()
  heads.set(1, 3).set(2, 1)
  const answers = Promise.all([scheduler.request(1, 2, 'b'), scheduler.request(2, 1), scheduler.request(1, 3, 'c'), scheduler.request(1, 1)])
  await releaseNext()
  await answers
  t.same(carriedByPass, [[[1, ['b', 'c']], [2, []]]])
})
