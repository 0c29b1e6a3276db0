// The pauses the probe reports with every sample: a blocked event loop shows as a late timer, a garbage
// collection as a pause, and each reading starts counting again. It runs in a child process (the built
// module) so that tap's own loop and collections stay out of the figures.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import type { Pauses } from '../src/probes/pause-monitor.js'

const MONITOR = new URL('../dist/probes/pause-monitor.js', import.meta.url).href
const run = promisify(execFile)

// Waits for the monitor's own timer to have fired `samples` more times: its samples are the event.
const SCRIPT = `
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { startPauseMonitor } from ${JSON.stringify(MONITOR)}
const monitor = startPauseMonitor()
const ticks = monitorEventLoopDelay({ resolution: 10 })
ticks.enable()
const fired = async (samples) => {
  const target = ticks.count + samples
  while (ticks.count < target) await new Promise((resolve) => setTimeout(resolve, 5))
}
await fired(3)
monitor.take()
// A reading restarts the monitor's interval, whose first tick is not sampled: let it pass.
await fired(2)
const started = performance.now()
while (performance.now() - started < 80) {}
await fired(2)
const blocked = monitor.take()
globalThis.gc()
await fired(2)
const collected = monitor.take()
await fired(5)
const quiet = monitor.take()
monitor.stop()
ticks.disable()
console.log(JSON.stringify({ blocked, collected, quiet }))
`

t.test('a blocked loop reads as a late timer, a collection as a pause, and each reading starts afresh', async (t) => {
  if (!existsSync(fileURLToPath(MONITOR))) throw new Error(`${MONITOR} is missing: build the bench first`)
  const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', SCRIPT], { timeout: 30_000 })
  const { blocked, collected, quiet } = JSON.parse(stdout) as Record<'blocked' | 'collected' | 'quiet', Pauses>
  t.ok(blocked.loopMaxMs >= 60, `80 ms of busy loop: the timer fired at least 60 ms late (${blocked.loopMaxMs})`)
  t.ok(blocked.loopMaxMs < 1_000, 'and not absurdly so')
  t.ok(collected.gcCount >= 1, `the forced collection is counted (${collected.gcCount})`)
  t.ok(collected.gcMs > 0 && collected.gcMaxMs > 0 && collected.gcMaxMs <= collected.gcMs, 'with its pause: the longest within the total')
  t.equal(collected.gcMaxKind, 'major', 'global.gc() is a full mark-compact')
  t.ok(collected.loopMaxMs < blocked.loopMaxMs, 'the block is not carried into the next reading')
  t.equal(quiet.gcCount, 0, 'an idle reading has no collection')
  t.equal(quiet.gcMaxKind, null)
  t.ok(quiet.loopMaxMs < blocked.loopMaxMs, `nor the earlier block (${quiet.loopMaxMs})`)
})
