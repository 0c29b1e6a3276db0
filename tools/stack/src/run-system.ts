// `npm start`: migrates and seeds the database, starts the API and the realtime service as separate
// processes, and serves both on one origin (http://localhost:8000 by default) until Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { DEFAULT_DATABASE_URL } from '@school/config'
import { applyMigrations, createPrismaClient, ensureDatabase } from '@school/db'
import { DEMO_ACCOUNTS, DEMO_SCHOOLS, seedDemoData } from './demo-data.js'
import { createOneOriginProxy } from '@school/one-origin'

const env = process.env
const publicPort = Number(env.PORT ?? 8000)
const apiPort = Number(env.API_PORT ?? 3000)
const realtimePort = Number(env.REALTIME_PORT ?? 3001)
const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL
const publicUrl = env.PUBLIC_URL ?? `http://localhost:${publicPort}`

function log(line: string): void {
  console.log(`[stack] ${line}`)
}

async function prepareDatabase(): Promise<void> {
  if (await ensureDatabase(databaseUrl)) log('created the database')
  const { applied } = await applyMigrations(databaseUrl, { log: (line) => log(line) })
  log(`migrations up to date (${applied.length} applied now)`)
  const prisma = createPrismaClient(databaseUrl, { maxConnections: 2 })
  try {
    const seeded = await seedDemoData(prisma)
    log(`demo data ready (${seeded.createdUsers} users, ${seeded.createdSchools} schools created now)`)
  } finally {
    await prisma.$disconnect()
  }
}

function startService(name: 'api' | 'realtime', port: number): ChildProcess {
  const entry = fileURLToPath(new URL(`../../../services/${name}/dist/server.js`, import.meta.url))
  const child = spawn(process.execPath, [entry], {
    // The services listen on loopback behind the one-origin proxy, which reports each client in
    // X-Forwarded-For: trusting loopback gives every client its own per-IP limits.
    env: { ...env, PORT: String(port), PUBLIC_URL: publicUrl, DATABASE_URL: databaseUrl, TRUST_PROXY: env.TRUST_PROXY ?? 'loopback' },
    stdio: 'inherit',
  })
  log(`started ${name} (pid ${child.pid}) on port ${port}`)
  return child
}

async function waitUntilHealthy(name: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} during start-up`)
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${name} did not become healthy on port ${port} within 30 s`)
}

function banner(): string {
  const accounts = DEMO_ACCOUNTS.map(
    (a) => `    ${a.email.padEnd(22)} ${a.password.padEnd(17)} ${a.memberships.map((m) => `${m.role} of school ${m.schoolId}`).join(', ')}`,
  ).join('\n')
  return `
  School dashboard is running on ${publicUrl}
    API        ${publicUrl}/api/...          (api process, port ${apiPort})
    WebSocket  ${publicUrl.replace(/^http/, 'ws')}/ws/schools/{id}/dashboard/   (realtime process, port ${realtimePort})
    Socket.IO  ${publicUrl}/socket.io/
  Schools: ${DEMO_SCHOOLS.map((s) => `${s.id} "${s.name}"`).join(', ')}
  Demo accounts (email, password, role):
${accounts}
  Try it: see "Watch it live" in README.md. Ctrl-C stops everything.
`
}

const children = new Map<string, ChildProcess>()
let stopping = false

async function stopAll(code: number, proxy?: ReturnType<typeof createOneOriginProxy>): Promise<never> {
  if (!stopping) {
    stopping = true
    log('stopping...')
    proxy?.close()
    proxy?.closeAllConnections()
    await Promise.all(
      [...children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill('SIGTERM')
        await once(child, 'exit')
      }),
    )
  }
  process.exit(code)
}

async function main(): Promise<void> {
  await prepareDatabase()
  const proxy = createOneOriginProxy({ api: `http://127.0.0.1:${apiPort}`, realtime: `http://127.0.0.1:${realtimePort}` })
  process.on('SIGINT', () => void stopAll(0, proxy))
  process.on('SIGTERM', () => void stopAll(0, proxy))
  const ports = { api: apiPort, realtime: realtimePort } as const
  for (const name of ['api', 'realtime'] as const) {
    const child = startService(name, ports[name])
    children.set(name, child)
    child.on('exit', (code, signal) => {
      if (stopping) return
      log(`${name} exited (${signal ?? `code ${code}`}); stopping the rest`)
      void stopAll(1, proxy)
    })
  }
  await Promise.all([...children].map(([name, child]) => waitUntilHealthy(name, ports[name as keyof typeof ports], child)))
  proxy.listen(publicPort, env.HOST ?? '0.0.0.0')
  await once(proxy, 'listening')
  console.log(banner())
}

main().catch((error: unknown) => {
  console.error(`[stack] ${(error as Error).message}`)
  void stopAll(1)
})
