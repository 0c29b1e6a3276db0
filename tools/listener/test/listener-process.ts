// Runs the built listener (dist/listen.js) as a child process for a test and lets it await the lines it
// prints: messages on stdout, what the listener is doing on stderr.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const LISTEN_JS = fileURLToPath(new URL('../dist/listen.js', import.meta.url))

/** A printed message line: `<ISO time>  <type padded>  <summary>`. */
export interface MessageLine {
  at: string
  type: string
  summary: string
}

const MESSAGE_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) {2}([a-z_]+) +(.*)$/

export function parseMessageLine(line: string): MessageLine | null {
  const match = MESSAGE_LINE.exec(line)
  return match ? { at: match[1]!, type: match[2]!, summary: match[3]! } : null
}

interface Waiter {
  test: (line: string) => boolean
  resolve: (line: string) => void
}

class Lines {
  readonly all: string[] = []
  private waiters: Waiter[] = []

  push(line: string): void {
    this.all.push(line)
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.test(line)) return true
      waiter.resolve(line)
      return false
    })
  }

  /** The first line from index `from` on (already printed or still to come) that matches. */
  waitFor(test: (line: string) => boolean, description: string, ms: number, from = 0): Promise<string> {
    const found = this.all.slice(from).find(test)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry)
        reject(new Error(`no ${description} within ${ms} ms; printed:\n${this.all.join('\n')}`))
      }, ms)
      const entry: Waiter = {
        test,
        resolve: (line) => {
          clearTimeout(timer)
          resolve(line)
        },
      }
      this.waiters.push(entry)
    })
  }
}

export interface ListenerProcess {
  child: ChildProcess
  stdout: Lines
  stderr: Lines
  /** Parsed message lines printed so far. */
  messages(): MessageLine[]
  /** A message of this type whose summary matches, from message (stdout line) index `from` on. */
  waitForMessage(type: string, summary: RegExp | string, from?: number, ms?: number): Promise<MessageLine>
  waitForStatus(text: RegExp | string, ms?: number): Promise<string>
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** Output so far, for assertion messages. */
  transcript(): string
}

const matches = (pattern: RegExp | string, text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text))

export function startListener(args: string[], teardown: (fn: () => unknown) => void): ListenerProcess {
  if (!existsSync(LISTEN_JS)) throw new Error(`${LISTEN_JS} is missing: build the listener first (npx turbo run build --filter=@school/listener)`)
  const child = spawn(process.execPath, [LISTEN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } })
  const stdout = new Lines()
  const stderr = new Lines()
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line))
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const messages = () => stdout.all.map(parseMessageLine).filter((line): line is MessageLine => line !== null)
  return {
    child,
    stdout,
    stderr,
    messages,
    async waitForMessage(type, summary, from = 0, ms = 15_000) {
      // Every stdout line is a message line, so a line's index is its message index.
      const line = await stdout.waitFor(
        (raw) => {
          const parsed = parseMessageLine(raw)
          return parsed !== null && parsed.type === type && matches(summary, parsed.summary)
        },
        `${type} matching ${summary}`,
        ms,
        from,
      )
      return parseMessageLine(line)!
    },
    waitForStatus(text, ms = 15_000) {
      return stderr.waitFor((line) => matches(text, line), `status line matching ${text}`, ms)
    },
    exited,
    transcript: () => `stdout:\n${stdout.all.join('\n')}\nstderr:\n${stderr.all.join('\n')}`,
  }
}
