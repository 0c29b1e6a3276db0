// The README's run command, as a new user runs it: `npm start` ends in tools/stack's run-system, which
// creates and seeds the database, starts both services and serves them on one origin until Ctrl-C.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { DEFAULT_DATABASE_URL } from '@school/config'
import { DEMO_ACCOUNTS } from '@school/stack'
import { deleteRedisKeys, freePort, uniqueRedisPrefix } from '@school/test-support'
import { PlainClient } from '@school/test-support/system'

const base = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL)
const databaseName = `sd_quickstart_${process.pid}_${Date.now()}`
const databaseUrl = new URL(base)
databaseUrl.pathname = `/${databaseName}`
const adminUrl = new URL(base)
adminUrl.pathname = '/postgres'

t.test('npm start runs the system with demo data on one origin, and Ctrl-C stops it', async (t) => {
  const redisPrefix = uniqueRedisPrefix('quickstart')
  t.teardown(() => deleteRedisKeys(redisPrefix))
  t.teardown(async () => {
    const admin = new pg.Client({ connectionString: adminUrl.toString() })
    await admin.connect()
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`)
    await admin.end()
  })
  const [port, apiPort, realtimePort] = [await freePort(), await freePort(), await freePort()]
  const entry = fileURLToPath(new URL('../../../tools/stack/dist/run-system.js', import.meta.url))
  const child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl.toString(),
      REDIS_PREFIX: redisPrefix,
      PORT: String(port),
      API_PORT: String(apiPort),
      REALTIME_PORT: String(realtimePort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const output: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line))
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line)
      if (line.includes('School dashboard is running on')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`run-system exited with ${code}:\n${output.join('\n')}`)))
  })
  const origin = `http://localhost:${port}`
  t.ok(output.some((line) => line.includes(`on ${origin}`)), 'the banner names the public origin')

  const owner = DEMO_ACCOUNTS.find((account) => account.email === 'owner@example.com')!
  const login = await fetch(`${origin}/api/auth/login/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: owner.email, password: owner.password }),
  })
  t.equal(login.status, 200, 'the demo owner can sign in')
  const { token } = (await login.json()) as { token: string }

  const client = await PlainClient.connect(origin, 1, token)
  const snapshot = await client.inbox.waitFor((m) => m.type === 'metrics_update', 'snapshot')
  t.match(snapshot.data, { admins: 1, teachers: 1 }, 'school 1 has its owner and the demo teacher')

  const invite = await fetch(`${origin}/api/accounts/schools/1/invitations/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ email: 'quick@example.com', role: 'teacher' }),
  })
  t.equal(invite.status, 201)
  const update = await client.inbox.waitFor((m) => m.type === 'invitation_status_update', 'live invitation update')
  t.match(update.data, { email: 'quick@example.com', status: 'pending' })
  await client.close()

  child.kill('SIGINT')
  const [code] = await exited
  t.equal(code, 0, 'Ctrl-C stops everything cleanly')
  const stillServing = await fetch(`http://127.0.0.1:${apiPort}/healthz`).then(
    () => true,
    () => false,
  )
  t.equal(stillServing, false, 'the API process is gone too')
})
