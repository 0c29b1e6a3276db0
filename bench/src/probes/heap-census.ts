// Counts the objects on this process's heap by constructor name, from a V8 heap snapshot read as a stream:
// the nodes are tallied as they arrive and only the strings table is parsed whole, so counting a large heap
// costs a few MB rather than a copy of the snapshot. Used to find connection objects a server retains.
import { getHeapSnapshot } from 'node:v8'

interface SnapshotMeta {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
}

const NODES_START = '"nodes":['
const STRINGS_START = '"strings":['

/** Tallies `object` nodes by their name (for objects, V8 names the node after its constructor). */
class SnapshotCounter {
  private phase: 'header' | 'nodes' | 'between' | 'strings' = 'header'
  private text = ''
  private fieldCount = 0
  private typeField = 0
  private nameField = 0
  private objectType = -1
  private field = 0
  private current = -1
  private nodeType = -1
  private nodeName = -1
  readonly byNameIndex = new Map<number, number>()

  push(chunk: string): void {
    if (this.phase === 'header') {
      this.text += chunk
      const at = this.text.indexOf(NODES_START)
      if (at === -1) return
      this.readMeta(this.text.slice(0, at))
      const rest = this.text.slice(at + NODES_START.length)
      this.text = ''
      this.phase = 'nodes'
      this.push(rest)
      return
    }
    if (this.phase === 'nodes') {
      const end = this.countNodes(chunk)
      if (end === -1) return
      this.phase = 'between'
      this.push(chunk.slice(end + 1))
      return
    }
    if (this.phase === 'between') {
      // Only numbers (edges, traces, locations) stand between the nodes and the strings: skip them,
      // keeping a tail in case the key is split across two chunks.
      this.text += chunk
      const at = this.text.indexOf(STRINGS_START)
      if (at === -1) {
        this.text = this.text.slice(-STRINGS_START.length)
        return
      }
      const rest = this.text.slice(at + STRINGS_START.length - 1)
      this.text = ''
      this.phase = 'strings'
      this.push(rest)
      return
    }
    this.text += chunk
  }

  /** The strings table, once the whole snapshot has been pushed. */
  strings(): string[] {
    if (this.phase !== 'strings') throw new Error(`heap snapshot ended while reading its ${this.phase}`)
    const end = this.text.lastIndexOf(']')
    return JSON.parse(this.text.slice(0, end + 1)) as string[]
  }

  private readMeta(header: string): void {
    const meta = JSON.parse(`${header.trim().replace(/,$/, '')}}`) as SnapshotMeta
    const fields = meta.snapshot.meta.node_fields
    this.fieldCount = fields.length
    this.typeField = fields.indexOf('type')
    this.nameField = fields.indexOf('name')
    this.objectType = meta.snapshot.meta.node_types[0].indexOf('object')
  }

  /** Reads node fields from `chunk`; returns the index of the closing bracket, or -1 if still inside. */
  private countNodes(chunk: string): number {
    for (let i = 0; i < chunk.length; i++) {
      const code = chunk.charCodeAt(i)
      if (code >= 48 && code <= 57) {
        this.current = (this.current === -1 ? 0 : this.current * 10) + (code - 48)
        continue
      }
      if (this.current !== -1) this.endField()
      if (code === 93) return i
    }
    return -1
  }

  private endField(): void {
    if (this.field === this.typeField) this.nodeType = this.current
    else if (this.field === this.nameField) this.nodeName = this.current
    this.current = -1
    this.field++
    if (this.field < this.fieldCount) return
    this.field = 0
    if (this.nodeType === this.objectType) this.byNameIndex.set(this.nodeName, (this.byNameIndex.get(this.nodeName) ?? 0) + 1)
  }
}

/** How many objects of each of `names` (constructor names) are on the heap now; takes a full snapshot. */
export async function countHeapObjects(names: readonly string[]): Promise<Record<string, number>> {
  const counter = new SnapshotCounter()
  const stream = getHeapSnapshot()
  stream.setEncoding('utf8')
  for await (const chunk of stream) counter.push(chunk as string)
  const strings = counter.strings()
  const counts: Record<string, number> = Object.fromEntries(names.map((name) => [name, 0]))
  for (const [index, count] of counter.byNameIndex) {
    const name = strings[index]
    if (name !== undefined && Object.hasOwn(counts, name)) counts[name]! += count
  }
  return counts
}
