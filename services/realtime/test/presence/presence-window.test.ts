// The presence window grows with the school's local audience, so an update storm cannot grow with its square.
import t from 'tap'
import { presenceWindowMs } from '../../src/presence/school-presence.js'

t.test('a school of up to a hundred watchers waits one debounce', async (t) => {
  t.equal(presenceWindowMs(50, 0), 50)
  t.equal(presenceWindowMs(50, 1), 50)
  t.equal(presenceWindowMs(50, 100), 50)
})

t.test('each started hundred watchers adds one debounce', async (t) => {
  t.equal(presenceWindowMs(50, 101), 100)
  t.equal(presenceWindowMs(50, 1_000), 500)
  t.equal(presenceWindowMs(50, 10_000), 5_000)
})

t.test('the audience per window is a parameter', async (t) => {
  t.equal(presenceWindowMs(20, 25, 10), 60)
})
