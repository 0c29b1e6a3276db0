// The plain WebSocket transport: ws://HOST/ws/schools/{id}/dashboard/?since=N, the token in the
// Authorization header; a refused handshake is read from its HTTP status and JSON body.
import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import type { AnyEnvelope } from '@school/events'
import { connectionEnd, type Connect } from './dashboard-connection.js'

/** A handshake that neither opens nor fails within this is abandoned and retried. */
const HANDSHAKE_TIMEOUT_MS = 10_000

export const connectPlainWebSocket: Connect = ({ origin, schoolId, token, since }, onMessage) => {
  const url = new URL(`/ws/schools/${schoolId}/dashboard/`, origin.replace(/^http/, 'ws'))
  if (since !== undefined) url.searchParams.set('since', String(since))
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: HANDSHAKE_TIMEOUT_MS })
  const { ended, settle } = connectionEnd()
  let stopping = false

  socket.on('message', (data, isBinary) => {
    if (isBinary) return
    try {
      onMessage(JSON.parse(data.toString()) as AnyEnvelope)
    } catch {
      // Not JSON: the server never sends such frames; nothing to show.
    }
  })
  socket.on('unexpected-response', (_request, response: IncomingMessage) => {
    let body = ''
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => (body += chunk))
    response.on('end', () => {
      let parsed: { code?: string; message?: string } = {}
      try {
        parsed = JSON.parse(body) as typeof parsed
      } catch {
        // A proxy's HTML page, say.
      }
      settle({
        kind: 'refused',
        status: response.statusCode ?? 0,
        code: parsed.code ?? 'unknown',
        message: parsed.message ?? (response.statusMessage || 'refused'),
      })
      socket.terminate()
    })
  })
  socket.on('error', (error) => {
    if (socket.readyState !== WebSocket.OPEN) settle({ kind: 'failed', message: error.message })
  })
  socket.on('close', (code, reason) => {
    settle(stopping ? { kind: 'stopped' } : { kind: 'closed', code, reason: reason.toString() })
  })

  return {
    description: `${url.origin}${url.pathname}${since === undefined ? '' : `?since=${since}`}`,
    ended,
    refresh(token) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'refresh', data: { token } }))
    },
    close() {
      stopping = true
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'listener stopped')
      else socket.terminate()
      // A peer that never answers the close frame: give up waiting for it.
      setTimeout(() => {
        socket.terminate()
        settle({ kind: 'stopped' })
      }, 1_000).unref()
    },
  }
}
