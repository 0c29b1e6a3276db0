// Open-loop pacing: starts one operation at each tick of a fixed rate whether or not earlier ones have
// finished (so a slow server meets the same arrival rate), then waits for all of them.

export interface PacedOutcome<T> {
  started: number
  results: PromiseSettledResult<T>[]
  /** From the first start to the last completion, in ms. */
  elapsedMs: number
}

export async function runAtRate<T>(perSecond: number, seconds: number, operation: (index: number) => Promise<T>): Promise<PacedOutcome<T>> {
  const total = Math.max(1, Math.round(perSecond * seconds))
  const intervalMs = 1000 / perSecond
  const startedAt = performance.now()
  const pending: Promise<T>[] = []
  for (let index = 0; index < total; index++) {
    const dueAt = startedAt + index * intervalMs
    const wait = dueAt - performance.now()
    // Timed pacing is the point here; catching up without waiting keeps the mean rate when timers are late.
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    const started = operation(index)
    // Settled below; without a handler now, an early failure (a reset keep-alive socket) would be an
    // unhandled rejection while the loop still waits for the next tick, and end the process.
    started.catch(() => {})
    pending.push(started)
  }
  const results = await Promise.allSettled(pending)
  return { started: total, results, elapsedMs: performance.now() - startedAt }
}
