// One dashboard connection's view of its school's stream. Broadcasts are at-least-once and may arrive out
// of order or not at all (a Redis outage, a worker killed between commit and publish); the stream turns
// them into exactly-once, in-order delivery per connection: duplicates are dropped by sequence number,
// and a gap is filled from the event log (the source of truth) before anything newer is sent. The same
// machinery replays what a reconnecting client missed (`since`).
import type { LogSlice, ProjectionState } from '@school/dashboard'
import { envelope, type AnyEnvelope } from '@school/events'
import { eventMessages, metricsMessage } from '@school/dashboard'
import type { PreparedMessage } from './prepared-message.js'

/** Where a stream reads the school's log and counters. */
export interface StreamSource {
  projection(schoolId: number): Promise<ProjectionState>
  eventsSince(schoolId: number, since: number, limit: number): Promise<LogSlice>
  /** The sequence of the school's newest event (which the projection may not include yet). */
  lastEventSeq(schoolId: number): Promise<number>
}

/** Why a stream gives up on its connection: it cannot keep up, or it cannot be synced. */
export type DropReason = 'slow_consumer' | 'sync_failed'

/** The connection a stream writes to, whatever its transport. */
export interface StreamSink {
  /** `prepared` is the broadcast's shared serialization, when the message came from one. */
  send(message: AnyEnvelope, prepared?: PreparedMessage): void
  /** Bytes accepted by send() but not yet handed to the network. */
  bufferedBytes(): number
  /** Drops a connection that cannot keep up (or cannot be synced), telling it why where possible. */
  drop(reason: DropReason): void
  /** Who the connection is, for log lines about its stream. */
  logFields(): Record<string, unknown>
}

export interface StreamOptions {
  /** Most events replayed to a resuming client; further behind it gets resume_unavailable. */
  maxReplay: number
  /** Past this many queued bytes the client is dropped as a slow consumer. */
  maxBufferedBytes: number
  /** Messages held while the stream syncs; past this the client is dropped as a slow consumer. */
  maxHeldMessages?: number
  // Shared by the streams of a transport (one object, not one per connection), hence the sink argument.
  onError(error: unknown, sink: StreamSink): void
  /** Called for each message handed to the connection (for metrics). */
  onSent?(message: AnyEnvelope): void
  /** Called when the stream drops its connection (for metrics). */
  onDropped?(reason: DropReason, sink: StreamSink): void
}

const EVENT_MESSAGE_TYPES = new Set(['activity_new', 'invitation_status_update'])
/** Events read from the log per query while filling a gap. */
const FILL_BATCH = 500

export class DashboardStream {
  /** Sequence of the last event whose messages this connection has received. */
  lastEventSeq = 0
  /** Sequence the last metrics_update sent reflects. */
  lastMetricsSeq = -1
  /**
   * Version of the last presence_update sent. Lists published by two instances may cross on the way, and both
   * may have read the same version after one change: a list is sent only if its version is newer. (Two reads
   * of one version can differ only while a lease has lapsed and not yet been claimed; the claim publishes a
   * newer version.)
   */
  #presenceVersion = -1
  #state: 'syncing' | 'live' | 'closed' = 'syncing'
  /** Broadcasts held while the stream syncs; made when the first is held (most streams are live and hold none). */
  #held: Array<{ message: AnyEnvelope; prepared: PreparedMessage | undefined }> | null = null

  constructor(
    readonly schoolId: number,
    private readonly sink: StreamSink,
    private readonly source: StreamSource,
    private readonly options: StreamOptions,
  ) {}

  get state(): 'syncing' | 'live' | 'closed' {
    return this.#state
  }

  /**
   * The initial sync, run once the connection is subscribed to the school's broadcasts (which are held
   * meanwhile): a snapshot, or, with `since`, every event after it and then the snapshot.
   */
  start(since?: number): Promise<void> {
    return this.#run(async () => {
      if (since !== undefined) {
        const logSeq = await this.source.lastEventSeq(this.schoolId)
        const reason = since > logSeq ? 'ahead_of_log' : logSeq - since > this.options.maxReplay ? 'too_old' : null
        if (reason === null) {
          this.lastEventSeq = since
          await this.#replay(this.options.maxReplay)
          await this.#sendMetrics()
          return
        }
        this.#send(envelope('resume_unavailable', { since, lastEventSeq: logSeq, reason }))
      }
      const snapshot = await this.source.projection(this.schoolId)
      this.#send(metricsMessage(snapshot))
      this.lastEventSeq = snapshot.lastSeq
      this.lastMetricsSeq = snapshot.lastSeq
    })
  }

  /** A broadcast for the school: sent, dropped as a duplicate, or held while a gap is filled. */
  receive(message: AnyEnvelope, prepared?: PreparedMessage): void {
    if (this.#state === 'closed') return
    if (this.#state === 'syncing') return this.#hold(message, prepared)
    const seq = message.seq
    if (EVENT_MESSAGE_TYPES.has(message.type) && seq !== undefined) {
      if (seq <= this.lastEventSeq) return
      if (seq !== this.lastEventSeq + 1) return this.#fillGap(message, prepared)
      this.#send(message, prepared)
      if (message.type === 'activity_new') this.lastEventSeq = seq
      return
    }
    if (message.type === 'metrics_update' && seq !== undefined) {
      if (seq <= this.lastMetricsSeq) return
      // Counters that include events this client has not been told about: tell it first.
      if (seq > this.lastEventSeq) return this.#fillGap(message, prepared)
      this.#send(message, prepared)
      this.lastMetricsSeq = seq
      return
    }
    if (message.type === 'presence_update') {
      if (message.data.version <= this.#presenceVersion) return
      this.#presenceVersion = message.data.version
    }
    this.#send(message, prepared)
  }

  /** Catches the connection up to `lastSeq` if it is behind (a broadcast that never arrived). */
  reconcile(lastSeq: number): Promise<void> | undefined {
    if (this.#state !== 'live' || (this.lastEventSeq >= lastSeq && this.lastMetricsSeq >= lastSeq)) return undefined
    return this.#run(async () => {
      await this.#replay(Number.POSITIVE_INFINITY)
      await this.#sendMetrics()
    })
  }

  close(): void {
    this.#state = 'closed'
    this.#held = null
  }

  #fillGap(message: AnyEnvelope, prepared: PreparedMessage | undefined): void {
    this.#hold(message, prepared)
    void this.#run(() => this.#replay(Number.POSITIVE_INFINITY))
  }

  /** Runs one sync with broadcasts held, then releases them through receive(). */
  #run(sync: () => Promise<void>): Promise<void> {
    this.#state = 'syncing'
    return (async () => {
      try {
        await sync()
      } catch (error) {
        this.options.onError(error, this.sink)
        this.#drop('sync_failed')
        return
      }
      if (this.#state === 'closed') return
      this.#state = 'live'
      const held = this.#held ?? []
      this.#held = null
      for (const [index, { message, prepared }] of held.entries()) {
        this.receive(message, prepared)
        // receive() found another gap and is syncing again: keep the rest for after it.
        if (this.#state !== 'live') {
          ;(this.#held ??= []).push(...held.slice(index + 1))
          break
        }
      }
    })()
  }

  async #replay(maxEvents: number): Promise<void> {
    let remaining = maxEvents
    while (remaining > 0 && this.#state !== 'closed') {
      const slice = await this.source.eventsSince(this.schoolId, this.lastEventSeq, Math.min(FILL_BATCH, remaining))
      if (slice.lastSeq === this.lastEventSeq) return
      for (const event of slice.events) for (const message of eventMessages(event)) this.#send(message)
      remaining -= slice.lastSeq - this.lastEventSeq
      this.lastEventSeq = slice.lastSeq
    }
  }

  async #sendMetrics(): Promise<void> {
    const state = await this.source.projection(this.schoolId)
    if (state.lastSeq <= this.lastMetricsSeq) return
    this.#send(metricsMessage(state))
    this.lastMetricsSeq = state.lastSeq
  }

  #hold(message: AnyEnvelope, prepared: PreparedMessage | undefined): void {
    const held = (this.#held ??= [])
    held.push({ message, prepared })
    if (held.length > (this.options.maxHeldMessages ?? 10_000)) this.#drop('slow_consumer')
  }

  #send(message: AnyEnvelope, prepared?: PreparedMessage): void {
    if (this.#state === 'closed') return
    if (this.sink.bufferedBytes() > this.options.maxBufferedBytes) return this.#drop('slow_consumer')
    this.sink.send(message, prepared)
    this.options.onSent?.(message)
  }

  #drop(reason: DropReason): void {
    if (this.#state === 'closed') return
    this.close()
    this.options.onDropped?.(reason, this.sink)
    this.sink.drop(reason)
  }
}
