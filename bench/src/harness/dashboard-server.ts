// A fresh dashboard server for one arm: the realtime service (plain WebSocket or Socket.IO clients of school
// A), the bare ws baseline or the bare Socket.IO baseline, pinned with the probe, and the URL its fleet
// connects to. The arm stops it; the world does too if the run is interrupted first. Or, for a whole
// scenario, the pipeline (api + realtime) beside the bare ws baseline, and the minimal pipeline.
import { Queue } from 'bullmq'
import { queuePrefix } from '@school/events'
import { bareWsUrl, plainDashboardUrl, type FleetTransport } from '../clients/dashboard-fleet.js'
import { MINIMAL_PIPELINE_QUEUE } from '../servers/minimal-pipeline-worker.js'
import type { BenchWorld } from './bench-world.js'
import { benchScript, serviceScript, startPinned, type PinnedProcess } from './pinned-process.js'

export type DashboardServerKind = 'realtime' | 'bare' | 'bare socket.io'

export interface DashboardServer {
  process: PinnedProcess
  /** Where a fleet of `transport` clients of school A connects. */
  url: string
}

export async function startDashboardServer(kind: DashboardServerKind, transport: FleetTransport, world: BenchWorld): Promise<DashboardServer> {
  if (kind === 'bare socket.io') {
    const bare = await startBareSocketIo(world)
    return { process: bare, url: bare.url }
  }
  if (kind === 'bare') {
    const bare = await startPinned('bare-ws', benchScript('servers/bare-ws-server.js'), {})
    world.defer(() => bare.stop())
    return { process: bare, url: bareWsUrl(bare.url) }
  }
  const realtime = await startPinned('realtime', serviceScript('realtime'), world.serviceEnv)
  world.defer(() => realtime.stop())
  return { process: realtime, url: transport === 'socket.io' ? realtime.url : plainDashboardUrl(realtime.url, world.fixture.schoolA.id) }
}

export interface PipelineAndBaseline {
  api: PinnedProcess
  realtime: PinnedProcess
  bare: PinnedProcess
}

/** The api, the realtime service and the bare ws server, started together and stopped with the world. */
export async function startPipelineAndBaseline(world: BenchWorld): Promise<PipelineAndBaseline> {
  const [api, realtime, bare] = await Promise.all([
    startPinned('api', serviceScript('api'), world.serviceEnv),
    startPinned('realtime', serviceScript('realtime'), world.serviceEnv),
    startPinned('bare-ws', benchScript('servers/bare-ws-server.js'), {}),
  ])
  world.defer(() => Promise.all([api.stop(), realtime.stop(), bare.stop()]))
  return { api, realtime, bare }
}

/** The bare Socket.IO server (servers/bare-socket-io-server.ts), stopped with the world; its clients connect to its origin. */
export async function startBareSocketIo(world: BenchWorld): Promise<PinnedProcess> {
  const bare = await startPinned('bare-socket.io', benchScript('servers/bare-socket-io-server.js'), {})
  world.defer(() => bare.stop())
  return bare
}

export interface MinimalPipeline {
  /** The ingest baselines, answering the API's invitations route with one insert and a queue.add. */
  api: PinnedProcess
  /** The bare ws server with the minimal pipeline's worker: dashboards at /ws/schools/{id}/dashboard/. */
  ws: PinnedProcess
  /** Its queue, to wait for it to drain. */
  queue: Queue
}

/** The minimal pipeline's two processes (servers/minimal-pipeline-worker.ts), on the world's database and Redis prefix. */
export async function startMinimalPipeline(world: BenchWorld): Promise<MinimalPipeline> {
  const [api, ws] = await Promise.all([
    startPinned('minimal-api', benchScript('servers/ingest-baselines.js'), world.serviceEnv),
    startPinned('minimal-ws', benchScript('servers/bare-ws-server.js'), { ...world.serviceEnv, MINIMAL_PIPELINE_WORKER: '1' }),
  ])
  const queue = new Queue(MINIMAL_PIPELINE_QUEUE, { connection: { url: world.redisUrl }, prefix: queuePrefix(world.redisPrefix) })
  world.defer(() => Promise.all([api.stop(), ws.stop(), queue.close()]))
  return { api, ws, queue }
}
