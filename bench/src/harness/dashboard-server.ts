// A fresh dashboard server for one arm: the realtime service (plain WebSocket or Socket.IO clients of school
// A) or the bare ws baseline, pinned with the probe, and the URL its fleet connects to. The arm stops it; the
// world does too if the run is interrupted first. Or, for a whole scenario, the pipeline (api + realtime)
// beside the bare ws baseline.
import { bareWsUrl, plainDashboardUrl, type FleetTransport } from '../clients/dashboard-fleet.js'
import type { BenchWorld } from './bench-world.js'
import { benchScript, serviceScript, startPinned, type PinnedProcess } from './pinned-process.js'

export type DashboardServerKind = 'realtime' | 'bare'

export interface DashboardServer {
  process: PinnedProcess
  /** Where a fleet of `transport` clients of school A connects. */
  url: string
}

export async function startDashboardServer(kind: DashboardServerKind, transport: FleetTransport, world: BenchWorld): Promise<DashboardServer> {
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
