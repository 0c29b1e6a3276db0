// Waits until a BullMQ queue has nothing left to do (no waiting, active, delayed or prioritized jobs).
// BullMQ has no event for "the last active job finished", so this polls the counts.
import type { Queue } from 'bullmq'

const UNFINISHED = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children'] as const

export async function unfinishedJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts(...UNFINISHED)
  return Object.values(counts).reduce((sum, count) => sum + count, 0)
}

/** Resolves with the ms it took, or rejects after `timeoutMs`. */
export async function waitForQueueDrained(queue: Queue, timeoutMs: number, pollMs = 10): Promise<number> {
  const started = performance.now()
  for (;;) {
    if ((await unfinishedJobs(queue)) === 0) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`queue ${queue.name} not drained after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
