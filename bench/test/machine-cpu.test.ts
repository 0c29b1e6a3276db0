// The machine's busy cores: a thread spinning on a core shows as (at least most of) a core.
import { cpus } from 'node:os'
import { Worker } from 'node:worker_threads'
import t from 'tap'
import { machineBusyCores } from '../src/harness/machine-cpu.js'

t.test('a thread spinning for the whole sample counts as most of a core, and never more than the machine has', async (t) => {
  const spinner = new Worker('const end = Date.now() + 5000; while (Date.now() < end) {}', { eval: true })
  t.teardown(() => spinner.terminate())
  await new Promise((resolve) => spinner.once('online', resolve))
  const busy = await machineBusyCores(500)
  t.ok(busy >= 0.7, `a spinning thread: ${busy.toFixed(2)} busy cores`)
  t.ok(busy <= cpus().length + 0.01, `at most ${cpus().length} cores`)
})
