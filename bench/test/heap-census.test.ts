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

const BYTES_SCRIPT = `
import { takeHeapCensus, heapGrowth } from ${JSON.stringify(CENSUS)}
class SizedMarker { constructor() { this.a = 1; this.b = 2 } }
const before = await takeHeapCensus([])
let markers = Array.from({ length: 5000 }, () => new SizedMarker())
const after = await takeHeapCensus(['SizedMarker'])
console.log(JSON.stringify({ count: after.counts.SizedMarker, kept: markers.length, before: before.bytes['object:SizedMarker'] ?? 0, after: after.bytes['object:SizedMarker'], growth: heapGrowth(before.bytes, after.bytes, 3), strings: after.bytes.string > 0 }))
`

t.test('sums the self bytes per kind of node, and ranks what grew', async (t) => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', BYTES_SCRIPT], { timeout: 30_000 })
  const result = JSON.parse(stdout) as { count: number; kept: number; before: number; after: number; growth: Array<{ kind: string; bytes: number }>; strings: boolean }
  t.equal(result.count, 5000)
  t.equal(result.before, 0, 'no such object before')
  // Each instance holds at least a map pointer, properties, elements and two in-object fields.
  t.ok(result.after >= 5000 * 20, `5,000 objects of at least 20 bytes each (${result.after})`)
  t.equal(result.after % 5000, 0, 'equal instances, equal sizes')
  t.ok(result.growth.some((entry) => entry.kind === 'object:SizedMarker' && entry.bytes === result.after), 'the new objects are among the largest growth')
  t.ok(result.strings, 'strings are summed as one kind')
})
