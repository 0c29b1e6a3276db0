// The send times of one window of invitations and the latencies of their `invitation_status_update`s, each
// expected once by every dashboard of the invitation's school (and by no other). Each invitation's email is
// `msinv<window>-<index>@...`, so a received update names its POST: plain clients find the index in the raw
// frame without parsing it, Socket.IO clients in the envelope; anything from another window is ignored.
// Each delivery is also split at its envelope's `ts`, the sender's emission time (its wall clock, to the
// millisecond; the same machine's clock here): POST start -> emission and emission -> receipt.
import type { AnyEnvelope } from '@school/events'
import { LatencyHistogram } from './latency-histogram.js'
import { CountThreshold } from './count-threshold.js'
import { numberAfterMarker } from './frame-marker.js'

let windowSerial = 0

/** Where the envelope's `ts` starts in a raw frame: after `data`, so searched from the end. */
const TS_MARKER = Buffer.from('"ts":"')
const ISO_LENGTH = '2026-01-01T00:00:00.000Z'.length

/** The emission time in a raw frame (ms since the epoch), NaN without one. */
function emissionInFrame(frame: Buffer): number {
  const at = frame.lastIndexOf(TS_MARKER)
  if (at === -1) return Number.NaN
  const from = at + TS_MARKER.length
  return Date.parse(frame.toString('latin1', from, from + ISO_LENGTH))
}

export class InvitationDeliveries {
  /** Per delivery: receipt by one dashboard - start of the POST. */
  readonly histogram = new LatencyHistogram()
  readonly sentAt: Float64Array
  /**
   * Per delivery: emission - start of the POST, and receipt - emission. `ts` is truncated to the ms, so the
   * first reads up to 1 ms short and the second up to 1 ms long (a negative one is recorded as 0).
   */
  readonly toEmission = new LatencyHistogram()
  readonly fromEmission = new LatencyHistogram()
  /** Deliveries to a dashboard of another school than the invitation's (should stay 0). */
  misdelivered = 0
  /** Deliveries beyond one per dashboard of the school (should stay 0). */
  duplicates = 0
  private readonly tag = `msinv${windowSerial++}-`
  private readonly marker = Buffer.from(this.tag)
  private readonly received: Uint16Array
  private readonly lastAt: Float64Array
  /** Wall clock - performance.now() when the window began: puts this process's times on the sender's clock. */
  private readonly wallOffset = Date.now() - performance.now()
  private readonly timed = new CountThreshold()

  /**
   * `schoolOf(index)`: the school (index in the scenario's list) the index-th invitation goes to;
   * `dashboardsPerSchool`: how many dashboards each school has open.
   */
  constructor(
    readonly invitations: number,
    private readonly schoolOf: (index: number) => number,
    private readonly dashboardsPerSchool: number,
  ) {
    this.sentAt = new Float64Array(invitations).fill(Number.NaN)
    this.received = new Uint16Array(invitations)
    this.lastAt = new Float64Array(invitations).fill(Number.NaN)
  }

  emailOf(index: number): string {
    return `${this.tag}${index}@many-schools.test`
  }

  get delivered(): number {
    return this.histogram.count
  }

  /** One update received at `receivedAt` by a dashboard of the school with index `dashboardSchool`. */
  observe(message: Buffer | AnyEnvelope, receivedAt: number, dashboardSchool: number): void {
    const index = Buffer.isBuffer(message) ? numberAfterMarker(message, this.marker) : this.indexInEmail(message)
    if (index < 0 || index >= this.invitations) return
    const sent = this.sentAt[index]!
    if (Number.isNaN(sent)) return
    if (this.schoolOf(index) !== dashboardSchool) {
      this.misdelivered++
      return
    }
    if (this.received[index]! >= this.dashboardsPerSchool) {
      this.duplicates++
      return
    }
    this.received[index]!++
    this.lastAt[index] = receivedAt
    this.histogram.record(receivedAt - sent)
    const emittedAt = (Buffer.isBuffer(message) ? emissionInFrame(message) : Date.parse(message.ts)) - this.wallOffset
    if (!Number.isNaN(emittedAt)) {
      this.toEmission.record(emittedAt - sent)
      this.fromEmission.record(receivedAt - emittedAt)
    }
    this.timed.add()
  }

  /** Resolves true once `target` deliveries have been timed, false after `timeoutMs`. */
  waitFor(target: number, timeoutMs: number): Promise<boolean> {
    return this.timed.reached(target, timeoutMs)
  }

  /** Per invitation that reached every dashboard of its school: the last receipt - start of the POST. */
  completeLatencies(): LatencyHistogram {
    const complete = new LatencyHistogram()
    for (let index = 0; index < this.invitations; index++) {
      if (this.received[index] === this.dashboardsPerSchool) complete.record(this.lastAt[index]! - this.sentAt[index]!)
    }
    return complete
  }

  private indexInEmail(message: AnyEnvelope): number {
    const email = (message.data as { email?: string }).email ?? ''
    if (!email.startsWith(this.tag)) return -1
    return Number.parseInt(email.slice(this.tag.length), 10)
  }
}
