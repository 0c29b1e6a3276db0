// Counts the objects on this process's heap by constructor name, from a V8 heap snapshot read as a stream:
// the nodes are tallied as they arrive and only the strings table is parsed whole, so counting a large heap
// costs a few MB rather than a copy of the snapshot. Used to find connection objects a server retains, and
// what kinds of heap objects a server keeps more of (their self sizes per kind).
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
  private sizeField = 0
  private objectType = -1
  /** Node types whose name says what they are (a constructor, a function); the others are summed per type. */
  private namedTypes = new Set<number>()
  private typeNames: string[] = []
  private field = 0
  private current = -1
  private nodeType = -1
  private nodeName = -1
  private nodeSize = 0
  readonly byNameIndex = new Map<number, number>()
  /** Self bytes per kind: key = type index * 2^32 + name index + 1 (0 for types summed whole). */
  readonly bytesByKey = new Map<number, number>()

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
    this.sizeField = fields.indexOf('self_size')
    this.typeNames = meta.snapshot.meta.node_types[0]
    this.objectType = this.typeNames.indexOf('object')
    for (const named of ['object', 'closure', 'native', 'hidden', 'array', 'object shape']) {
      const index = this.typeNames.indexOf(named)
      if (index !== -1) this.namedTypes.add(index)
    }
  }

  /** Self bytes per kind of node, named `type:name` (e.g. `object:Map`) or just `type` (e.g. `string`). */
  bytesByKind(strings: readonly string[]): Record<string, number> {
    const bytes: Record<string, number> = {}
    for (const [key, size] of this.bytesByKey) {
      const type = this.typeNames[Math.floor(key / 2 ** 32)] ?? '?'
      const name = key % 2 ** 32
      const kind = name === 0 ? type : `${type}:${strings[name - 1] ?? '?'}`
      bytes[kind] = (bytes[kind] ?? 0) + size
    }
    return bytes
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
    else if (this.field === this.sizeField) this.nodeSize = this.current
    this.current = -1
    this.field++
    if (this.field < this.fieldCount) return
    this.field = 0
    if (this.nodeType === this.objectType) this.byNameIndex.set(this.nodeName, (this.byNameIndex.get(this.nodeName) ?? 0) + 1)
    const key = this.nodeType * 2 ** 32 + (this.namedTypes.has(this.nodeType) ? this.nodeName + 1 : 0)
    this.bytesByKey.set(key, (this.bytesByKey.get(key) ?? 0) + this.nodeSize)
  }
}

export interface HeapCensus {
  /** Objects of each of the names asked for (constructor names). */
  counts: Record<string, number>
  /** Self bytes of every kind of node on the heap (`object:Map`, `closure:onClose`, `string`, `code`, ...). */
  bytes: Record<string, number>
}

/** How many objects of each of `names` (constructor names) are on the heap now; takes a full snapshot. */
export async function countHeapObjects(names: readonly string[]): Promise<Record<string, number>> {
  return (await takeHeapCensus(names)).counts
}

/** The counts of `names` and the bytes per kind of node, from one full snapshot. */
export async function takeHeapCensus(names: readonly string[]): Promise<HeapCensus> {
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
  return { counts, bytes: counter.bytesByKind(strings) }
}

/** The kinds whose bytes grew most from `before` to `after`, largest first. */
export function heapGrowth(before: Record<string, number>, after: Record<string, number>, top = 12): Array<{ kind: string; bytes: number }> {
  const kinds = new Set([...Object.keys(before), ...Object.keys(after)])
  return [...kinds]
    .map((kind) => ({ kind, bytes: (after[kind] ?? 0) - (before[kind] ?? 0) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top)
}
