// Plain HTTP requests the realtime service answers itself: liveness (/healthz), readiness (/readyz),
// Prometheus metrics (/metrics), and a JSON 404 for the rest.
// Socket.IO's engine intercepts its own path (/socket.io/) before this handler sees it.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkReadiness, type DependencyChecks } from '@school/observability'

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

export interface Operations {
  metrics(): Promise<string>
  contentType: string
  dependencies: DependencyChecks
}

/** The handler with /readyz and /metrics; `ready()` adds conditions of the process itself (worker running). */
export function createHttpHandler(operations: Operations, ready: () => boolean = () => true) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const readable = req.method === 'GET' || req.method === 'HEAD'
    if (readable && path === '/readyz') {
      void checkReadiness(operations.dependencies).then((readiness) => {
        const isReady = readiness.ready && ready()
        const checks = { ...readiness.checks, process: ready() ? 'ok' : 'shutting down' }
        sendJson(res, isReady ? 200 : 503, { status: isReady ? 'ready' : 'unready', checks })
      })
      return
    }
    if (readable && path === '/metrics') {
      operations.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': operations.contentType })
          res.end(text)
        },
        (error: unknown) => sendJson(res, 500, { code: 'internal_error', message: `metrics failed: ${String(error)}` }),
      )
      return
    }
    handleHttpRequest(req, res)
  }
}
