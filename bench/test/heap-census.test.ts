// The heap census the probe answers with: counts objects by constructor name from a streamed heap snapshot.
// It runs in a small child process (the built module): a snapshot of tap's own heap takes tens of seconds.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const CENSUS = new URL('../dist/probes/heap-census.js', import.meta.url).href
const run = promisify(execFile)

const SCRIPT = `
import { countHeapObjects } from ${JSON.stringify(CENSUS)}
class CensusMarker {}
let markers = Array.from({ length: 1234 }, () => new CensusMarker())
const live = await countHeapObjects(['CensusMarker', 'NoSuchConstructor', 'toString'])
const kept = markers.length
markers = undefined
const gone = await countHeapObjects(['CensusMarker'])
console.log(JSON.stringify({ live, kept, gone }))
`

t.test('counts the live instances of a class, and none once they are gone', async (t) => {
  if (!existsSync(fileURLToPath(CENSUS))) throw new Error(`${CENSUS} is missing: build the bench first`)
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT], { timeout: 30_000 })
  const { live, kept, gone } = JSON.parse(stdout) as Record<string, unknown>
  t.same(live, { CensusMarker: 1234, NoSuchConstructor: 0, toString: 0 }, 'every instance, and nothing for unknown or prototype names')
  t.equal(kept, 1234)
  // A heap snapshot collects garbage first, so dropped objects are not counted.
  t.same(gone, { CensusMarker: 0 })
})
