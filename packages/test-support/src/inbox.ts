// Collects the messages a client receives and lets a test await the one it expects.
import type { AnyEnvelope } from '@school/events'

interface Waiter {
  predicate: (message: AnyEnvelope) => boolean
  resolve: (message: AnyEnvelope) => void
}

export class Inbox {
  /** Every message but `presence_update`s, which come at times of their own (connections) and are kept apart. */
  readonly messages: AnyEnvelope[] = []
  /** The `presence_update`s received, in arrival order. */
  readonly presence: Array<Extract<AnyEnvelope, { type: 'presence_update' }>> = []
  private waiters: Waiter[] = []

  push(message: AnyEnvelope): void {
    if (message.type === 'presence_update') this.presence.push(message)
    else this.messages.push(message)
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.predicate(message)) return true
      waiter.resolve(message)
      return false
    })
  }

  /** The first message (already received or still to come) that matches; fails after `ms` with what did arrive. */
  waitFor(predicate: (message: AnyEnvelope) => boolean, description: string, ms = 10_000): Promise<AnyEnvelope> {
    const found = this.messages.find(predicate) ?? this.presence.find(predicate)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry)
        reject(new Error(`no ${description} within ${ms} ms; received: ${this.messages.map((m) => m.type).join(', ') || 'nothing'}`))
      }, ms)
      const entry: Waiter = {
        predicate,
        resolve: (message) => {
          clearTimeout(timer)
          resolve(message)
        },
      }
      this.waiters.push(entry)
    })
  }

  /** Messages caused by one domain event, in arrival order. */
  forEvent(eventId: string): AnyEnvelope[] {
    return this.messages.filter((message) => message.eventId === eventId)
  }

  ofType<T extends AnyEnvelope['type']>(type: T): Array<Extract<AnyEnvelope, { type: T }>> {
    const all: AnyEnvelope[] = type === 'presence_update' ? this.presence : this.messages
    return all.filter((message): message is Extract<AnyEnvelope, { type: T }> => message.type === type)
  }
}
