// The Socket.IO baseline for fanout and memory: a Socket.IO server (the same socket.io as the realtime
// service: pinned exactly in bench/package.json, test/socket-io-version.test.ts holds them equal) with its
// default in-memory adapter. A client joins the room of the school in its handshake's `auth.schoolId`,
// without authentication; each POST /publish (JSON body `{name, schoolId}`) emits the messages of one
// student registration to that school's room with `io.to(room).emit`, as the bare ws server sends them.
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { dashboardRoom, parseId } from '@school/events'
import { publishRoute, StudentRegistrations, welcome } from './bare-messages.js'

const registrations = new StudentRegistrations()

const server = createServer(
  publishRoute(({ name, schoolId }) => {
    const { activity, metrics } = registrations.next(name)
    const room = io.to(dashboardRoom(schoolId ?? 1))
    room.emit('activity_new', activity)
    room.emit('metrics_update', metrics)
  }),
)

const io = new Server(server, { serveClient: false, transports: ['polling', 'websocket'] })

// Socket.IO's memory guidance: the first HTTP request of a session is not needed once it is open.
io.engine.on('connection', (rawSocket: { request: unknown }) => {
  rawSocket.request = null
})

io.on('connection', (socket) => {
  const schoolId = parseId(String(socket.handshake.auth.schoolId ?? '')) ?? undefined
  if (schoolId !== undefined) void socket.join(dashboardRoom(schoolId))
  socket.emit('connection_established', welcome(schoolId, 'socket.io'))
})

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  console.log(`bare-socket.io listening on http://${process.env.HOST ?? '127.0.0.1'}:${port}`)
})

process.on('SIGTERM', () => {
  io.disconnectSockets(true)
  void io.close().finally(() => process.exit(0))
  server.closeAllConnections()
})
