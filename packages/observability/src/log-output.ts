// Where a service's JSON log lines go when no one watches them: stdout, in batches. Both services log a
// line per event or request; written one at a time, each line was a write handed to libuv's thread pool
// and its completion, about 60 us of CPU per line more than batched on the benchmark machine
// (docs/BENCHMARKS.md), on the same core as the event path. Lines are gathered for a moment and handed to
// pino's destination in one piece; it writes them asynchronously as before.
//
// Why not pino.destination's own `minLength` with `periodicFlush`: its timer runs for the life of the
// process and writes even when nothing is buffered. Here a timer exists only while a line waits.
import { pino, type DestinationStream } from 'pino'

/** Longest a line waits before it is written. */
export const LOG_BATCH_DELAY_MS = 100
/** A batch this large (in characters) is written at once, whatever its age. */
export const LOG_BATCH_BYTES = 16_384

export interface BatchedLogOutput extends DestinationStream {
  /** Hands what waits to the destination now (pino's `logger.flush()` calls this). */
  flush(callback?: (error?: Error) => void): void
  /** Writes what waits before returning (on exit). */
  flushSync(): void
}

export interface BatchedLogOptions {
  /** A file descriptor (default 1, stdout) or a file path. */
  dest?: number | string
  delayMs?: number
  maxBytes?: number
}

class BatchedLines implements BatchedLogOutput {
  #pending = ''
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly out: ReturnType<typeof pino.destination>,
    private readonly delayMs: number,
    private readonly maxBytes: number,
  ) {}

  write(line: string): void {
    this.#pending += line
    if (this.#pending.length >= this.maxBytes) this.#handOver()
    // One timer per output, only while lines wait: at most 1000 / delayMs expiries a second however many
    // schools or connections are logging, none when nothing is. Not unref'd: a process whose work is done
    // stays for the last lines (pino ends its destination when the event loop empties, and a line still
    // here then would be lost).
    else this.#timer ??= setTimeout(() => this.#handOver(), this.delayMs)
  }

  flush(callback?: (error?: Error) => void): void {
    this.#handOver()
    callback?.()
  }

  flushSync(): void {
    this.#handOver()
    this.out.flushSync()
  }

  #handOver(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending === '') return
    const batch = this.#pending
    this.#pending = ''
    this.out.write(batch)
  }
}

/**
 * Log lines batched for up to `delayMs` (or `maxBytes`), then written asynchronously to `dest`. What
 * waits is written when the process exits; a process killed outright (SIGKILL, power loss) loses at
 * most the last `delayMs` of lines.
 */
export function batchedLogOutput(options: BatchedLogOptions = {}): BatchedLogOutput {
  const out = pino.destination({ dest: options.dest ?? 1, sync: false })
  const lines = new BatchedLines(out, options.delayMs ?? LOG_BATCH_DELAY_MS, options.maxBytes ?? LOG_BATCH_BYTES)
  // pino.destination's own exit hook flushes its buffer, not ours: hand ours over and write it out.
  // One listener per output, and a service makes one.
  process.once('exit', () => {
    try {
      lines.flushSync()
    } catch {
      // stdout closed under us (the reader is gone): nothing left to write to.
    }
  })
  return lines
}

let stdout: BatchedLogOutput | undefined

/** The process's one batched output to stdout: every logger of a process shares it (two would interleave their batches). */
export function stdoutLogOutput(): BatchedLogOutput {
  return (stdout ??= batchedLogOutput())
}
