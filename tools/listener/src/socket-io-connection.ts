// The Socket.IO transport: auth {token, schoolId, since}, websocket only (no sticky sessions needed
// behind a load balancer). Reconnection is the session's, so that both transports follow one policy.
import { io } from 'socket.io-client'
import { SERVER_MESSAGE_TYPES, type AnyEnvelope } from '@school/events'
import { connectionEnd, type Connect } from './dashboard-connection.js'

export const connectSocketIo: Connect = ({ origin, schoolId, token, since }, onMessage) => {
  const socket = io(origin, {
    transports: ['websocket'],
    auth: since === undefined ? { token, schoolId } : { token, schoolId, since },
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  })
  const { ended, settle } = connectionEnd()
  let stopping = false

  for (const type of SERVER_MESSAGE_TYPES) socket.on(type, (message: AnyEnvelope) => onMessage(message))
  socket.on('connect_error', (error: Error & { data?: { status?: number; code?: string; message?: string } }) => {
    // The server's refusals carry {status, code, message}; anything else is the network's doing.
    if (typeof error.data?.status === 'number') {
      settle({ kind: 'refused', status: error.data.status, code: error.data.code ?? error.message, message: error.data.message ?? error.message })
    } else {
      settle({ kind: 'failed', message: error.message })
    }
    socket.close()
  })
  socket.on('disconnect', (reason) => settle(stopping ? { kind: 'stopped' } : { kind: 'closed', code: 0, reason }))

  return {
    description: `${origin}/socket.io/ (school ${schoolId}${since === undefined ? '' : `, since ${since}`})`,
    ended,
    refresh(token) {
      if (socket.connected) socket.emit('refresh', { token })
    },
    close() {
      stopping = true
      socket.close()
      settle({ kind: 'stopped' })
    },
  }
}
