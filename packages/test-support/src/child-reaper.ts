// Children a test starts must not outlive it. A test file that fails at its top level (a setup that
// throws) exits without running its teardowns, which would leave its services, haproxy or redis-cli
// running on the machine; the process's 'exit' event still fires then, and kills what is left.
import type { ChildProcess } from 'node:child_process'

const alive = new Set<ChildProcess>()

process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL')
})

/** Kills `child` when this process exits, unless it has exited by then. */
export function reapOnExit(child: ChildProcess): ChildProcess {
  alive.add(child)
  child.once('exit', () => alive.delete(child))
  return child
}
