// Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and says where the time went: self time per
// function and per owner (our workspaces, each npm package, Node's internals, GC, idle), and per owner again
// with Node's own functions (a socket write, a hash) counted for the package that called them.
import { readFile } from 'node:fs/promises'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

export interface ProfileLine {
  name: string
  selfMs: number
  share: number
}

export interface ProfileSummary {
  file: string
  /** Wall time the profile covers. */
  durationMs: number
  /** Sampled time not spent idle: what the process computed. */
  busyMs: number
  byOwner: ProfileLine[]
  /** As byOwner, with the time of Node's functions (and native ones) given to the nearest caller that has an owner. */
  byCaller: ProfileLine[]
  byFunction: ProfileLine[]
}

/** Who a frame belongs to: `pkg:<name>` for npm packages, `ours:<workspace>`, `node`, or V8's pseudo frames. */
export function ownerOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return 'node'
  const modules = url.split('/node_modules/')
  if (modules.length > 1) {
    const rest = modules[modules.length - 1]!.split('/')
    const name = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
    return name.startsWith('@school/') ? `ours:${name}` : `pkg:${name}`
  }
  const ours = /\/(services|packages|tools|tests|bench)\/([^/]+)\//.exec(url)
  if (ours) return `ours:${ours[1]}/${ours[2]}`
  return url.startsWith('file://') ? 'other file' : url
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/')
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length)
  const ours = /\/((?:services|packages|tools|tests|bench)\/.*)$/.exec(url)
  return ours?.[1] ?? url.replace(/^file:\/\//, '')
}

function top(totals: Map<string, number>, busyMs: number, limit: number): ProfileLine[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, selfMs]) => ({ name, selfMs: Math.round(selfMs * 10) / 10, share: busyMs > 0 ? Math.round((selfMs / busyMs) * 1000) / 1000 : 0 }))
}

export function summarizeProfile(profile: CpuProfile, file: string, limit = 25): ProfileSummary {
  // Self time of each node: the sum of the time deltas of the samples that landed in it.
  const selfUs = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    // A sample's delta is the time since the previous one; it is attributed to the sample that ends it.
    const delta = deltas[i + 1] ?? 0
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, delta))
  }
  const parentOf = new Map<number, ProfileNode>()
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node)
  }
  const callerOwner = (node: ProfileNode, owner: string): string => {
    for (let at = parentOf.get(node.id); at; at = parentOf.get(at.id)) {
      const above = ownerOf(at.callFrame.url, at.callFrame.functionName)
      if (above !== 'node' && above !== '(native)' && above !== '(root)') return above
    }
    return owner
  }
  const byOwner = new Map<string, number>()
  const byCaller = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let busyUs = 0
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0
    if (us === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    busyUs += us
    const owner = ownerOf(url, functionName)
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us / 1000)
    const caller = owner === 'node' || owner === '(native)' ? callerOwner(node, owner) : owner
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + us / 1000)
    const name = url === '' ? functionName : `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + us / 1000)
  }
  const busyMs = busyUs / 1000
  return {
    file,
    durationMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyMs: Math.round(busyMs),
    byOwner: top(byOwner, busyMs, limit),
    byCaller: top(byCaller, busyMs, limit),
    byFunction: top(byFunction, busyMs, limit),
  }
}

export async function summarizeProfileFile(file: string, limit?: number): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, file, limit)
}

export function profileTable(summary: ProfileSummary): string {
  const rows = (lines: ProfileLine[]) => lines.map((line) => `| ${line.name} | ${line.selfMs.toFixed(1)} | ${(line.share * 100).toFixed(1)}% |`)
  return [
    `### ${summary.file}`,
    '',
    `${summary.durationMs} ms profiled, ${summary.busyMs} ms busy (not idle).`,
    '',
    '| owner | self ms | share of busy |',
    '| --- | ---: | ---: |',
    ...rows(summary.byOwner),
    '',
    "| owner, with Node's own functions counted for their caller | self ms | share of busy |",
    '| --- | ---: | ---: |',
    ...rows(summary.byCaller),
    '',
    '| function | self ms | share of busy |',
    '| --- | ---: | ---: |',
    ...rows(summary.byFunction),
  ].join('\n')
}
