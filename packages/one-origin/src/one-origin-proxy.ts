// Serves the API and the realtime service on one origin, as the load balancer does in production:
// /api/* and the dashboard page (/dashboard/*) to the API; /ws/* and /socket.io/* (HTTP and WebSocket
// upgrades) to the realtime service.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { createProxyServer } from 'http-proxy-3'

export interface Upstreams {
  api: string
  realtime: string
}

function upstreamFor(req: IncomingMessage, upstreams: Upstreams): string | null {
  const path = req.url ?? '/'
  if (path === '/api' || path.startsWith('/api/')) return upstreams.api
  if (path === '/dashboard' || path.startsWith('/dashboard/') || path.startsWith('/dashboard?')) return upstreams.api
  if (path.startsWith('/ws/') || path.startsWith('/socket.io/')) return upstreams.realtime
  return null
}

function refuseUpgrade(socket: Duplex, status: string, body: object): void {
  const json = JSON.stringify(body)
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  )
}

export function createOneOriginProxy(upstreams: Upstreams): Server {
  // xfwd: X-Forwarded-For (appended to what the client sent), -Port and -Proto on requests and upgrades,
  // so that services started with TRUST_PROXY=loopback see each client's own address (per-IP limits).
  const proxy = createProxyServer({ xfwd: true })
  // http-proxy re-emits a proxied WebSocket's client socket errors (a browser tab closed mid-connection:
  // ECONNRESET) on the proxy, which throws them when nobody listens and so took the whole process down.
  // The socket is destroyed by its own handler below; there is nothing more to do.
  proxy.on('error', () => {})
  const server = createServer((req, res) => {
    const target = upstreamFor(req, upstreams)
    if (!target) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ code: 'not_found', message: `Nothing is served at ${req.url}` }))
      return
    }
    proxy.web(req, res, { target }, () => {
      if (res.headersSent) return res.destroy()
      res.writeHead(502, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ code: 'bad_gateway', message: 'The upstream service is not answering' }))
    })
  })
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy())
    const target = upstreamFor(req, upstreams)
    if (!target || target === upstreams.api) {
      refuseUpgrade(socket, '404 Not Found', { code: 'not_found', message: `No WebSocket endpoint at ${req.url}` })
      return
    }
    proxy.ws(req, socket, head, { target }, () => {
      if (socket.writable) refuseUpgrade(socket, '502 Bad Gateway', { code: 'bad_gateway', message: 'The realtime service is not answering' })
    })
  })
  return server
}
