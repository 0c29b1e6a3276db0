// Alternating rounds: the arms' order in each round, and each arm's median over its own rounds.
import t from 'tap'
import { armMedian, runAlternating } from '../src/harness/alternating-rounds.js'
import type { Arm } from '../src/harness/scenario.js'

/** Arms that record the order they ran in and report round * 10 + their index as `value`. */
function recordingArms(names: string[], order: string[]): Arm[] {
  return names.map((name, index) => ({
    name,
    async measure(round) {
      order.push(name)
      return { metrics: { value: round * 10 + index }, generatorCpu: 0 }
    },
  }))
}

t.test('without rotation every round runs the arms in the order given', async (t) => {
  const order: string[] = []
  await runAlternating('fixed', recordingArms(['a', 'b', 'c'], order), 3)
  t.same(order, ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c'])
})

t.test('with rotation each round starts with the next arm, and medians stay per arm', async (t) => {
  const order: string[] = []
  const group = await runAlternating('rotated', recordingArms(['a', 'b', 'c'], order), 4, { rotate: true })
  t.same(order, ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b', 'a', 'b', 'c'])
  t.same(
    group.arms.map((arm) => arm.name),
    ['a', 'b', 'c'],
    'results listed in the order given',
  )
  // b's values over rounds 0..3 are 1, 11, 21, 31: the nearest-rank median is 11.
  t.equal(armMedian(group, 'b', 'value'), 11)
})
