// Serves the live dashboard page (services/api/public/dashboard/) under /dashboard/, with the Socket.IO
// browser client from node_modules beside it and a strict Content-Security-Policy on every response.
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const DASHBOARD_PREFIX = '/dashboard/'

/** The page's own scripts only, talking to its own origin (HTTP and WebSocket) and nothing else. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

// dist/plugins/ and src/plugins/ are both two levels below the package, beside public/.
const PUBLIC_DIR = fileURLToPath(new URL('../../public/dashboard/', import.meta.url))

/** The ES module build of socket.io-client; the package does not export its dist files, so go by its root. */
function socketIoClientFile(name: string): string {
  const packageJson = createRequire(import.meta.url).resolve('socket.io-client/package.json')
  return join(dirname(packageJson), 'dist', name)
}

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

async function dashboardPagePlugin(app: FastifyInstance): Promise<void> {
  const vendor = new Map(
    ['socket.io.esm.min.js', 'socket.io.esm.min.js.map'].map((name) => [name, readFileSync(socketIoClientFile(name))]),
  )
  for (const [name, body] of vendor) {
    app.get(`${DASHBOARD_PREFIX}vendor/${name}`, { schema: { hide: true } }, async (_request, reply) => {
      reply
        .headers(SECURITY_HEADERS)
        .header('cache-control', 'public, max-age=3600')
        .type(name.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8')
      return body
    })
  }

  // The page itself at /dashboard/ (and /dashboard: the router ignores trailing slashes). Read on each
  // request: it is a few kilobytes, and an edited page shows without a restart.
  app.get(DASHBOARD_PREFIX, { schema: { hide: true } }, async (_request, reply) => {
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').type('text/html; charset=utf-8')
    return readFile(join(PUBLIC_DIR, 'index.html'))
  })

  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: DASHBOARD_PREFIX,
    // Another @fastify/static (the Swagger UI's) may be registered; this one needs no reply decorators.
    decorateReply: false,
    index: false,
    // The page changes with deploys and is small: always revalidate (ETag), never serve a stale app.js.
    cacheControl: false,
    setHeaders: (reply) => {
      reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache')
    },
  })
}

export default fp(dashboardPagePlugin, { name: 'dashboard-page', fastify: '5.x' })
