// Plain HTTP requests the realtime service answers itself: a health check, and a JSON 404 for the rest.
// Socket.IO's engine intercepts its own path (/socket.io/) before this handler sees it.
import type { IncomingMessage, ServerResponse } from 'node:http'

function sendJson(res: ServerResponse, status: number, body: object): void {
  const json = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) })
  res.end(json)
}

export function handleHttpRequest(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  if ((req.method === 'GET' || req.method === 'HEAD') && path === '/healthz') {
    sendJson(res, 200, { status: 'ok' })
    return
  }
  sendJson(res, 404, { code: 'not_found', message: `Nothing is served at ${req.method ?? 'GET'} ${path}` })
}
