import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const reaper = new URL('../src/child-reaper.ts', import.meta.url).href

/** True while a process with this pid exists (and is not a zombie waiting to be reaped). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** The kill is delivered asynchronously: resolves once the process is gone, or after `ms`. */
async function gone(pid: number, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (exists(pid)) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}

t.test("a test process that fails at its top level still kills the children it started", async (t) => {
  // A stand-in for a test file whose setup throws after starting a service (here: a long sleep).
  const script = `
    import { spawn } from 'node:child_process'
    import { reapOnExit } from ${JSON.stringify(reaper)}
    const child = reapOnExit(spawn('sleep', ['60'], { stdio: 'ignore' }))
    console.log(child.pid)
    await new Promise((resolve) => setTimeout(resolve, 50))
    throw new Error('setup failed')
  `
  const runner = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const [line] = (await once(createInterface({ input: runner.stdout! }), 'line')) as [string]
  const pid = Number(line)
  t.ok(Number.isInteger(pid) && pid > 0, `the child started (pid ${pid})`)
  const [code] = (await once(runner, 'exit')) as [number | null]
  t.equal(code, 1, 'the stand-in test failed')
  t.equal(await gone(pid), true, 'and its child is gone')
})
