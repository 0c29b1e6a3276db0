// Collects the messages a client receives and lets a test await the one it expects.
import type { AnyEnvelope } from '@school/events'

/** How long an awaited message may take before the test fails with what did arrive, instead of hanging. */
const WAIT_LIMIT_MS = 15_000

type PresenceUpdate = Extract<AnyEnvelope, { type: 'presence_update' }>

interface Waiter {
  predicate: (message: AnyEnvelope) => boolean
  resolve: (message: AnyEnvelope) => void
}

export class Inbox {
  /** Every message but `presence_update`s, which come at times of their own (connections) and are kept apart. */
  readonly messages: AnyEnvelope[] = []
  /** The `presence_update`s received, in arrival order. */
  readonly presence: PresenceUpdate[] = []
  #cursor = 0
  #waiters: Waiter[] = []
  #nextWaiter: (() => void) | undefined

  push(message: AnyEnvelope): void {
    if (message.type === 'presence_update') this.presence.push(message)
    else this.messages.push(message)
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.predicate(message)) return true
      waiter.resolve(message)
      return false
    })
    if (message.type !== 'presence_update') this.#nextWaiter?.()
  }

  /** The next message (presence aside) not yet read through next(), in arrival order. */
  async next(description = 'the next message', ms = WAIT_LIMIT_MS): Promise<AnyEnvelope> {
    while (this.#cursor >= this.messages.length) {
      await this.#withLimit(new Promise<void>((resolve) => (this.#nextWaiter = resolve)), description, ms)
      this.#nextWaiter = undefined
    }
    return this.messages[this.#cursor++]!
  }

  /** The first message (already received or still to come) that matches; fails after `ms` with what did arrive. */
  waitFor(predicate: (message: AnyEnvelope) => boolean, description: string, ms = WAIT_LIMIT_MS): Promise<AnyEnvelope> {
    const found = this.messages.find(predicate) ?? this.presence.find(predicate)
    if (found) return Promise.resolve(found)
    const waiter: Waiter = { predicate, resolve: () => {} }
    const arrival = new Promise<AnyEnvelope>((resolve) => (waiter.resolve = resolve))
    this.#waiters.push(waiter)
    return this.#withLimit(arrival, description, ms).finally(() => {
      this.#waiters = this.#waiters.filter((entry) => entry !== waiter)
    })
  }

  /** School broadcasts received so far: what follows the welcome snapshot, minus replies to the client. */
  broadcasts(): AnyEnvelope[] {
    const snapshot = this.messages.findIndex((m) => m.type === 'metrics_update')
    return this.messages.slice(snapshot + 1).filter((m) => m.type !== 'pong' && m.type !== 'error')
  }

  /** Messages caused by one domain event, in arrival order. */
  forEvent(eventId: string): AnyEnvelope[] {
    return this.messages.filter((message) => message.eventId === eventId)
  }

  ofType<T extends AnyEnvelope['type']>(type: T): Array<Extract<AnyEnvelope, { type: T }>> {
    const all: AnyEnvelope[] = type === 'presence_update' ? this.presence : this.messages
    return all.filter((message): message is Extract<AnyEnvelope, { type: T }> => message.type === type)
  }

  #withLimit<T>(promise: Promise<T>, description: string, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const received = this.messages.map((m) => m.type).join(', ') || 'nothing'
        reject(new Error(`no ${description} within ${ms} ms; received: ${received}`))
      }, ms)
    })
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer))
  }
}
