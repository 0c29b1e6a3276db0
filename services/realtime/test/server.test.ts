// The built process (`npm start` runs dist/server.js, which turbo builds before the tests).
import t from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { PlainClient } from '@school/test-support/clients'
import { createWorld } from './helper.js'

const entry = fileURLToPath(new URL('../dist/server.js', import.meta.url))
if (!existsSync(entry)) throw new Error(`${entry} is missing: build the service first (turbo runs build before test)`)

const world = await createWorld(t, 'rt_server')

function start(env: Record<string, string>): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
  })
  world.defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return child
}

/** Resolves with the first JSON log line whose `msg` matches; every line is kept in `output`. */
function logLine(child: ChildProcessWithoutNullStreams, pattern: RegExp, output: string[]): Promise<{ msg: string; level: number }> {
  const lines = createInterface({ input: child.stdout })
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      output.push(line)
      try {
        const entry = JSON.parse(line) as { msg: string; level: number }
        if (pattern.test(entry.msg)) resolve(entry)
      } catch {
        reject(new Error(`not a JSON log line: ${line}`))
      }
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code} before logging ${pattern}`)))
  })
}

t.test('serves, logs where it listens in JSON, and exits 0 on SIGTERM after closing clients with 1012', async (t) => {
  const child = start({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: world.config.DATABASE_URL,
    REDIS_URL: world.config.REDIS_URL,
    REDIS_PREFIX: world.prefix,
    LOG_LEVEL: 'info',
  })
  const output: string[] = []
  const listening = await logLine(child, /^realtime listening on /, output)
  const url = /^realtime listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(listening.msg)?.[1]
  t.ok(url, listening.msg)
  const health = await fetch(`${url}/healthz`)
  t.same(await health.json(), { status: 'ok' })

  const token = world.token(world.fixture.ownerA)
  const client = await PlainClient.connect(url!, world.fixture.schoolA.id, token)
  world.defer(() => client.close())
  await client.inbox.next()

  const closed = client.closed()
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  t.same(await closed, { code: 1012, reason: 'service restart' })
  const [code, signal] = await exited
  t.equal(code, 0)
  t.equal(signal, null)
  t.match(output.join('\n'), /dashboard connection opened/)
  t.notOk(output.some((line) => line.includes(token)), 'the token is never logged')
})

t.test('a configuration error prints what is wrong and exits 1', async (t) => {
  const child = start({ PORT: 'eighty', REDIS_PREFIX: 'has spaces' })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(stderr, /Invalid configuration/)
  t.match(stderr, /PORT/)
  t.match(stderr, /REDIS_PREFIX/)
})
