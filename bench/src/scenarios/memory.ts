// Scenario 4, memory per connection: ramps idle authenticated dashboard connections, and after every step
// forces a full GC in the server and records its heap and RSS. Baselines: a bare `ws` server, and a bare
// Socket.IO server (in-memory adapter, a room per school) for the Socket.IO arm.
import { DashboardFleet, type FleetTransport } from '../clients/dashboard-fleet.js'
import { absoluteTarget, armMedian, ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld, type BenchWorld } from '../harness/bench-world.js'
import { startCpuWindow } from '../harness/generator-cpu.js'
import { startDashboardServer, type DashboardServerKind } from '../harness/dashboard-server.js'
import { waitForQuiet } from '../harness/pinned-process.js'
import { connectionsWithinDescriptors } from '../harness/pinning.js'
import { heapGrowth } from '../probes/heap-census.js'
import type { Arm, BenchOptions, Scenario, ScenarioReport } from '../harness/scenario.js'

interface MemoryParams {
  connections: number
  step: number
  /** What was asked for, when the descriptor limit allowed fewer. */
  requestedConnections?: number
  descriptorLimit?: number | null
}

export interface MemorySample {
  connections: number
  heapUsed: number
  rss: number
}

function params(options: BenchOptions): MemoryParams {
  const p = options.quick ? { connections: 200, step: 50 } : { connections: 40_000, step: 5_000 }
  const wanted = options.clients ? { ...p, connections: options.clients } : p
  // Every connection is a descriptor in the server and one in the generator: where the limit cannot be
  // raised, the ramp stops at the last whole step below it instead of failing with EMFILE.
  const { connections, limit } = connectionsWithinDescriptors(wanted.connections, 1, wanted.step)
  return connections === wanted.connections ? wanted : { ...wanted, connections, requestedConnections: wanted.connections, descriptorLimit: limit }
}

function memoryArm(name: string, transport: FleetTransport, server: DashboardServerKind, world: BenchWorld, p: MemoryParams): Arm {
  return {
    name,
    async measure() {
      const { process, url } = await startDashboardServer(server, transport, world)
      const fleet = await DashboardFleet.open({
        transport,
        url,
        schoolId: world.fixture.schoolA.id,
        token: world.ownerToken,
        count: 0,
        sampled: 0,
      })
      const cpu = startCpuWindow()
      try {
        // Warm-up: one step's worth of connections opened and closed first, so lazily built state is in place.
        await fleet.grow(Math.min(p.step, 100), p.connections)
        await fleet.close()
        const base = await process.probe({ gc: true })
        const samples: MemorySample[] = [{ connections: 0, heapUsed: base.heapUsed, rss: base.rss }]
        while (fleet.size < p.connections) {
          await fleet.grow(Math.min(p.step, p.connections - fleet.size), p.connections)
          const sample = await process.probe({ gc: true })
          samples.push({ connections: fleet.size, heapUsed: sample.heapUsed, rss: sample.rss })
          globalThis.process.stderr.write(
            `[bench]   ${name}: ${fleet.size} connections, heap ${(sample.heapUsed / 2 ** 20).toFixed(1)} MiB, rss ${(sample.rss / 2 ** 20).toFixed(1)} MiB\n`,
          )
        }
        const last = samples.at(-1)!
        // Where the bytes per connection are: the kinds of heap node that shrank most when everyone left.
        // Both censuses come after the samples: a heap snapshot attaches source positions to all bytecode
        // (+25 MiB here) and leaves malloc'd memory in RSS, which no number of full GCs reliably takes
        // back (a census before the ramp once inflated the empty sample from 35.5 to 60.6 MiB).
        const fullCensus = await process.census([])
        await fleet.close()
        await waitForQuiet(process)
        const leftCensus = await process.census([])
        const growth = heapGrowth(leftCensus.bytes, fullCensus.bytes, 15).map(({ kind, bytes }) => ({ kind, bytesPerConnection: Math.round(bytes / last.connections) }))
        return {
          metrics: {
            connections: last.connections,
            heapBytesPerConnection: (last.heapUsed - base.heapUsed) / last.connections,
            rssBytesPerConnection: (last.rss - base.rss) / last.connections,
            rssMiB: last.rss / 2 ** 20,
          },
          generatorCpu: cpu().share,
          detail: { samples, heapGrowthPerConnection: growth },
        }
      } finally {
        await fleet.close()
        await process.stop()
      }
    },
  }
}

export const memoryScenario: Scenario = {
  name: 'memory',
  description: 'heap and RSS per idle authenticated connection: realtime (plain WebSocket, Socket.IO) vs a bare ws and a bare Socket.IO server',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const world = await createBenchWorld('memory')
    try {
      const group = await runAlternating(
        `${p.connections} idle connections`,
        [
          memoryArm('realtime websocket', 'websocket', 'realtime', world, p),
          memoryArm('realtime socket.io', 'socket.io', 'realtime', world, p),
          memoryArm('bare ws', 'websocket', 'bare', world, p),
          memoryArm('bare socket.io', 'socket.io', 'bare socket.io', world, p),
        ],
        options.rounds,
      )
      return {
        groups: [group],
        targets: [
          ratioTarget('websocket heap/conn vs bare ws', group, 'realtime websocket', 'bare ws', 'heapBytesPerConnection', '<=', 1.5),
          ratioTarget('socket.io heap/conn vs bare ws', group, 'realtime socket.io', 'bare ws', 'heapBytesPerConnection', '<=', 1.5),
          ratioTarget('socket.io heap/conn vs bare socket.io', group, 'realtime socket.io', 'bare socket.io', 'heapBytesPerConnection', '<=', 1.3),
          absoluteTarget('websocket RSS KB/conn', armMedian(group, 'realtime websocket', 'rssBytesPerConnection') / 1024, '<=', 12, [`${group.name} / realtime websocket`]),
          absoluteTarget('socket.io RSS KB/conn', armMedian(group, 'realtime socket.io', 'rssBytesPerConnection') / 1024, '<=', 12, [`${group.name} / realtime socket.io`]),
        ],
        // Nothing here is timed, so a busy generator cannot skew it.
        voidOnSaturation: false,
        params: { ...p },
        notes: [
          'A fresh server per arm and round; per-connection figures are (last sample - empty server) / connections, both after gc().',
          'The server is sampled through a preloaded probe (node --expose-gc --import probes/process-probe.js); the services are unchanged.',
          'heapGrowthPerConnection (JSON detail): the kinds of heap node (constructor or type) whose self bytes were larger at the last step than once everyone had left, per connection, from two heap snapshots taken after the samples.',
          'The bare ws baseline accepts any upgrade without authentication and keeps only a Set of sockets.',
          'The bare Socket.IO baseline (same socket.io, default in-memory adapter) accepts any handshake without authentication, drops the first HTTP request as Socket.IO\'s memory guidance says, and joins each socket to its school\'s room.',
          ...(p.requestedConnections
            ? [`Capped at ${p.connections} of the ${p.requestedConnections} connections asked for: the descriptor limit is ${p.descriptorLimit} and could not be raised (prlimit needs CAP_SYS_RESOURCE above the hard limit).`]
            : []),
        ],
      }
    } finally {
      await world.close()
    }
  },
}
