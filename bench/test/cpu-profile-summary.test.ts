// The CPU profile summary: self time per owner and per function, and per owner with Node's own functions
// counted for the package that called them, on a profile whose every sample is known.
import t from 'tap'
import { ownerOf, summarizeProfile } from '../src/profiles/cpu-profile-summary.js'

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 })
const FASTIFY = 'file:///app/node_modules/fastify/lib/reply.js'
const OURS = 'file:///app/services/api/dist/domain/invitations.js'

// root -> fastify's send -> node:net write -> native writev; root -> our code -> node:crypto hash;
// root -> node:timers (nothing above it has an owner); GC and idle.
const profile = {
  startTime: 0,
  endTime: 10_000,
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 5, 6, 7, 9] },
    { id: 2, callFrame: frame('send', FASTIFY), children: [3] },
    { id: 3, callFrame: frame('write', 'node:net'), children: [4] },
    { id: 4, callFrame: frame('writev', ''), children: [] },
    { id: 5, callFrame: frame('(garbage collector)', ''), children: [] },
    { id: 6, callFrame: frame('(idle)', ''), children: [] },
    { id: 7, callFrame: frame('createInvitation', OURS), children: [8] },
    { id: 8, callFrame: frame('digest', 'node:internal/crypto/hash'), children: [] },
    { id: 9, callFrame: frame('listOnTimeout', 'node:internal/timers'), children: [] },
  ],
  // Each sample's time is the delta that follows it (deltas[i + 1]), in microseconds.
  samples: [2, 3, 4, 4, 5, 6, 7, 8, 9, 6],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 500, 4000, 1000, 2000, 500, 0],
}

t.test('owners: npm packages, our workspaces, Node, V8 pseudo frames and native functions', async (t) => {
  t.equal(ownerOf(FASTIFY, 'send'), 'pkg:fastify')
  t.equal(ownerOf('file:///app/node_modules/@prisma/client/runtime/client.js', 'x'), 'pkg:@prisma/client')
  t.equal(ownerOf(OURS, 'createInvitation'), 'ours:services/api')
  t.equal(ownerOf('node:net', 'write'), 'node')
  t.equal(ownerOf('', '(garbage collector)'), '(garbage collector)')
  t.equal(ownerOf('', 'writev'), '(native)')
})

t.test("self time per owner, and with Node's own functions counted for their caller", async (t) => {
  const summary = summarizeProfile(profile, 'api.cpuprofile')
  t.equal(summary.busyMs, 8, 'everything but the idle samples: 1 + 1 + 1 + 1 + 0.5 + 1 + 2 + 0.5 ms')
  const asObject = (lines: Array<{ name: string; selfMs: number }>) => Object.fromEntries(lines.map((line) => [line.name, line.selfMs]))
  t.same(asObject(summary.byOwner), { 'ours:services/api': 1, node: 3.5, '(native)': 2, 'pkg:fastify': 1, '(garbage collector)': 0.5 })
  t.same(
    asObject(summary.byCaller),
    { 'pkg:fastify': 4, 'ours:services/api': 3, node: 0.5, '(garbage collector)': 0.5 },
    "the write and writev go to fastify, the hash to our code; a timer with no owner above it stays Node's",
  )
  t.equal(summary.byCaller.reduce((sum, line) => sum + line.selfMs, 0), summary.busyMs, 'every busy millisecond is counted once')
})
