// The baseline for fanout, latency, memory and churn: a minimal `ws` server that accepts any upgrade, and on
// each POST /publish (optional JSON body `{name}`: the student named in the summary) serializes the messages
// of one event once and sends them to every client. A client of `/ws/schools/{id}/dashboard/` is also in
// that school's room; with MINIMAL_PIPELINE_WORKER=1 the process runs the minimal pipeline's BullMQ worker
// (servers/minimal-pipeline-worker.ts), which publishes each job's message to its school's room.
import { createServer } from 'node:http'
import { WebSocketServer, WebSocket } from 'ws'
import { DASHBOARD_WS_PATH, parseId } from '@school/events'
import { publishRoute, StudentRegistrations, welcome } from './bare-messages.js'

const clients = new Set<WebSocket>()
const rooms = new Map<number, Set<WebSocket>>()
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
const registrations = new StudentRegistrations()

function broadcast(frame: string, to: Iterable<WebSocket> = clients): void {
  for (const client of to) if (client.readyState === WebSocket.OPEN) client.send(frame)
}

/** The school of a dashboard URL, undefined for any other. */
function schoolOf(url: string | undefined): number | undefined {
  const match = DASHBOARD_WS_PATH.exec((url ?? '').split('?')[0]!)
  return (match && parseId(match[1]!)) ?? undefined
}

function joinRoom(schoolId: number, ws: WebSocket): Set<WebSocket> {
  let room = rooms.get(schoolId)
  if (!room) rooms.set(schoolId, (room = new Set()))
  room.add(ws)
  return room
}

const server = createServer(
  publishRoute(({ name }) => {
    // The same two messages the realtime service sends for a student registration.
    const { activity, metrics } = registrations.next(name)
    broadcast(JSON.stringify(activity))
    broadcast(JSON.stringify(metrics))
  }),
)

server.on('upgrade', (request, socket, head) => {
  const schoolId = schoolOf(request.url)
  wss.handleUpgrade(request, socket, head, (ws) => {
    clients.add(ws)
    const room = schoolId === undefined ? undefined : joinRoom(schoolId, ws)
    const leave = () => {
      clients.delete(ws)
      room?.delete(ws)
    }
    ws.on('close', leave)
    ws.on('error', leave)
    ws.send(JSON.stringify(welcome(schoolId, 'websocket')))
  })
})

const closeWorker =
  process.env.MINIMAL_PIPELINE_WORKER === '1'
    ? await (await import('./minimal-pipeline-worker.js')).startMinimalPipelineWorker((schoolId, frame) => broadcast(frame, rooms.get(schoolId) ?? []))
    : async () => {}

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  console.log(`bare-ws listening on http://${process.env.HOST ?? '127.0.0.1'}:${port}`)
})

process.on('SIGTERM', () => {
  for (const client of clients) client.terminate()
  server.close(() => void closeWorker().finally(() => process.exit(0)))
  server.closeAllConnections()
})
