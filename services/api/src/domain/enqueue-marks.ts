// Records `enqueued_at` for events the request path put on the queue, many rows per statement: a mark waits
// up to `delayMs` for the marks that follow it and they go out together in one UPDATE. At a moderate, steady
// rate the requests do not overlap, so marks sent per turn were one statement per request, as costly in
// the API's CPU as the request's own statement; the mark only has to land before the outbox relay's grace
// (OUTBOX_RELAY_GRACE_MS, 2 s by default), so waiting a little costs nothing.
import { markEnqueued, type PrismaClient } from '@school/db'

export interface EnqueueMarksOptions {
  /** Longest a mark waits for others before its UPDATE is sent (default 100 ms). */
  delayMs?: number
  /** A batch this large is sent at once (default 1,000 ids). */
  maxIds?: number
}

export interface EnqueueMarks {
  /** Resolves once the event's row is marked (rejects if the UPDATE failed). */
  mark(eventId: string): Promise<void>
  /** Sends the waiting marks now (after the UPDATE in flight, if any) instead of at the end of their delay. */
  sendNow(): void
  /** How many UPDATEs have been sent, for tests and metrics. */
  readonly flushes: number
}

interface Waiting {
  ids: string[]
  settled: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function nextBatch(): Waiting {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const settled = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { ids: [], settled, resolve, reject }
}

export function createEnqueueMarks(prisma: PrismaClient, options: EnqueueMarksOptions = {}): EnqueueMarks {
  const delayMs = options.delayMs ?? 100
  const maxIds = options.maxIds ?? 1000
  let waiting: Waiting | null = null
  // The waiting batch's timer: one per process, armed only while marks wait, so at most 1000 / delayMs
  // expiries a second however many schools and requests there are, and none when nothing is marked.
  // A waiting batch without a timer is due (its delay ended, it filled, or sendNow asked for it while an
  // UPDATE was in flight): it goes out as soon as that UPDATE ends.
  let timer: NodeJS.Timeout | undefined
  let inFlight = false
  let flushes = 0

  const send = (): void => {
    clearTimeout(timer)
    timer = undefined
    if (!waiting || inFlight) return
    const batch = waiting
    waiting = null
    inFlight = true
    flushes += 1
    markEnqueued(prisma, batch.ids)
      .then(() => batch.resolve(), batch.reject)
      .finally(() => {
        inFlight = false
        if (waiting && timer === undefined) send()
      })
  }

  return {
    mark(eventId) {
      if (!waiting) {
        waiting = nextBatch()
        timer = setTimeout(send, delayMs)
      }
      const batch = waiting
      batch.ids.push(eventId)
      if (batch.ids.length >= maxIds) send()
      return batch.settled
    },
    sendNow: send,
    get flushes() {
      return flushes
    },
  }
}
