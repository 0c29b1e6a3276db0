// Records `enqueued_at` for events the request path put on the queue, many rows per statement: while
// one UPDATE is in flight the next ids gather, so under load the cost per event falls with the batch.
import { markEnqueued, type PrismaClient } from '@school/db'

export interface EnqueueMarks {
  /** Resolves once the event's row is marked (rejects if the UPDATE failed). */
  mark(eventId: string): Promise<void>
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

export function createEnqueueMarks(prisma: PrismaClient): EnqueueMarks {
  let waiting: Waiting | null = null
  let inFlight = false
  let flushes = 0

  const flush = async () => {
    if (inFlight || !waiting) return
    const batch = waiting
    waiting = null
    inFlight = true
    flushes += 1
    try {
      await markEnqueued(prisma, batch.ids)
      batch.resolve()
    } catch (error) {
      batch.reject(error)
    } finally {
      inFlight = false
      // Ids that arrived meanwhile go in the next statement.
      void flush()
    }
  }

  return {
    mark(eventId) {
      if (!waiting) {
        waiting = nextBatch()
        // The same turn's other marks join this batch before it is sent.
        setImmediate(() => void flush())
      }
      waiting.ids.push(eventId)
      return waiting.settled
    },
    get flushes() {
      return flushes
    },
  }
}
