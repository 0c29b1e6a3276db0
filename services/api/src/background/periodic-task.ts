// Runs a piece of background work every interval, never two runs at once, logging failures instead of
// crashing; stop() waits for the run in progress.
import type { FastifyBaseLogger } from 'fastify'

export interface PeriodicTask {
  /** Runs the work now (after the run in progress, if any) and resolves with its result. */
  runNow(): Promise<void>
  stop(): Promise<void>
}

export function startPeriodicTask(name: string, intervalMs: number, work: () => Promise<void>, log: FastifyBaseLogger): PeriodicTask {
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  const run = (): Promise<void> => {
    running = running.then(async () => {
      if (stopped) return
      try {
        await work()
      } catch (error) {
        log.warn({ err: error, task: name }, `${name} failed; retrying in ${intervalMs} ms`)
      }
    })
    return running
  }
  const timer = setInterval(() => void run(), intervalMs)
  timer.unref()
  return {
    runNow: run,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}
