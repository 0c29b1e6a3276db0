// Batched log output: lines wait for a moment and go out together, nothing is lost on exit, and an idle
// output keeps no timer.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { pino } from 'pino'
import { batchedLogOutput } from '../src/index.js'

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length

function tempFile(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'log-output-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Created here: the destination opens it asynchronously (appending), and the test reads it before that.
  const file = join(dir, 'out.log')
  writeFileSync(file, '')
  return file
}

/** Resolves once `file` holds `count` lines. */
async function linesOf(file: string, count: number): Promise<string[]> {
  for (;;) {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    if (lines.length >= count) return lines
    await new Promise((resolve) => setImmediate(resolve))
  }
}

t.test('lines logged together reach the file in one write, after the delay, and no timer stays', async (t) => {
  const file = tempFile(t)
  const output = batchedLogOutput({ dest: file, delayMs: 50 })
  const logger = pino({ base: null }, output)
  const before = timers()
  logger.info({ n: 1 }, 'first')
  logger.info({ n: 2 }, 'second')
  t.equal(timers(), before + 1, 'one timer while lines wait')
  t.equal(readFileSync(file, 'utf8'), '', 'nothing written yet')
  const started = performance.now()
  const lines = await linesOf(file, 2)
  t.ok(performance.now() - started >= 40, 'written after the delay')
  t.same(lines.map((line) => JSON.parse(line).msg), ['first', 'second'])
  t.equal(timers(), before, 'no timer once written')
})

t.test('a batch of maxBytes is written at once; flush() hands over what waits', async (t) => {
  const file = tempFile(t)
  const output = batchedLogOutput({ dest: file, delayMs: 60_000, maxBytes: 200 })
  const logger = pino({ base: null }, output)
  logger.info({ filler: 'x'.repeat(300) }, 'large')
  t.same((await linesOf(file, 1)).map((line) => JSON.parse(line).msg), ['large'])
  logger.info('small')
  logger.flush()
  t.same((await linesOf(file, 2)).map((line) => JSON.parse(line).msg), ['large', 'small'])
})

t.test('lines still waiting when the process exits are written', async (t) => {
  const module = fileURLToPath(new URL('../dist/index.js', import.meta.url))
  const script = `
    const { pino } = await import('pino')
    const { batchedLogOutput } = await import(${JSON.stringify(module)})
    const logger = pino({ base: null }, batchedLogOutput({ delayMs: 60000 }))
    logger.info('before exit')
    process.exit(3)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  t.equal(code, 3)
  t.same(out.split('\n').filter(Boolean).map((line) => JSON.parse(line).msg), ['before exit'])
})
