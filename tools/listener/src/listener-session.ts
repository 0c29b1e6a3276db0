// One listener run: signs in, connects, prints every message, and after an interruption reconnects with
// `since` = the last event seen, so that nothing is missed or shown twice.
import type { AnyEnvelope } from '@school/events'
import type { ListenerOptions } from './cli-options.js'
import type { Connect, ConnectionEnd } from './dashboard-connection.js'
import { formatMessage, formatStatus } from './message-summary.js'
import { nextStep } from './reconnect-policy.js'
import { refreshSession, signIn as signInThroughApi, type Session } from './sign-in.js'

export interface SessionOutput {
  /** A dashboard message (stdout). */
  message(line: string): void
  /** What the listener is doing (stderr). */
  status(line: string): void
}

export interface SessionDeps {
  connect: Connect
  output: SessionOutput
  signIn?: typeof signInThroughApi
  refresh?: typeof refreshSession
  now?: () => Date
}

function describeEnd(end: ConnectionEnd): string {
  switch (end.kind) {
    case 'closed':
      return end.code === 0 ? `disconnected (${end.reason})` : `closed (${end.code}${end.reason ? ` ${end.reason}` : ''})`
    case 'refused':
      return `refused (${end.status} ${end.code})`
    case 'failed':
      return `failed (${end.message})`
    case 'stopped':
      return 'stopped'
  }
}

export class ListenerSession {
  /** The seq of the last event seen: where a reconnection resumes. */
  lastSeq: number | undefined
  /** The next metrics_update is a fresh snapshot whose seq becomes lastSeq (no since, or resume_unavailable). */
  private awaitingBaseline: boolean
  private stopped = false
  private wake: () => void = () => {}
  private current: { close(): void; refresh(token: string): void; ended: Promise<ConnectionEnd> } | undefined
  private readonly now: () => Date
  private readonly signIn: typeof signInThroughApi
  private readonly refresh: typeof refreshSession
  /** The current access token, and the refresh token that renews it (none with --token). */
  private session: Session | { token: string; refreshToken?: undefined } | undefined
  private renewing = false

  constructor(
    private readonly options: ListenerOptions,
    private readonly deps: SessionDeps,
  ) {
    this.lastSeq = options.since
    this.awaitingBaseline = options.since === undefined
    this.now = deps.now ?? (() => new Date())
    this.signIn = deps.signIn ?? signInThroughApi
    this.refresh = deps.refresh ?? refreshSession
  }

  private status(text: string): void {
    this.deps.output.status(formatStatus(text, this.now()))
  }

  /** Ends the run: closes the connection or cuts a wait short; run() then resolves with 0. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.current?.close()
    this.wake()
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /** Renews the access token with the refresh token (rotating it); null when there is none or it no longer works. */
  private async renewed(): Promise<string | null> {
    const refreshToken = this.session?.refreshToken
    if (refreshToken === undefined) return null
    try {
      this.session = await this.refresh(this.options.origin, refreshToken)
      return this.session.token
    } catch (error) {
      this.status((error as Error).message)
      return null
    }
  }

  /** The connection's token expires soon: renew it and hand it over in band, without reconnecting. */
  private async renewInBand(): Promise<void> {
    if (this.renewing) return
    if (this.session?.refreshToken === undefined) {
      this.status('the access token expires soon and there is no refresh token (--token): the connection will close then')
      return
    }
    this.renewing = true
    try {
      const token = await this.renewed()
      if (token !== null) this.current?.refresh(token)
    } finally {
      this.renewing = false
    }
  }

  private async token(): Promise<string | null> {
    const { origin, email, password, token } = this.options
    // A renewal first: signing in again is for when the session itself has ended.
    const renewed = await this.renewed()
    if (renewed !== null) return renewed
    if (email === undefined || password === undefined) {
      if (token !== undefined && this.session === undefined) this.session = { token }
      return token ?? null
    }
    for (let failures = 0; !this.stopped; failures++) {
      try {
        this.session = await this.signIn(origin, email, password)
        this.status(`signed in as ${email}`)
        return this.session.token
      } catch (error) {
        const status = (error as { status?: number }).status ?? 0
        this.status((error as Error).message)
        // Wrong credentials stay wrong; an unreachable or failing API may come back.
        if (status >= 400 && status < 500) return null
        await this.sleep(Math.min(10_000, 250 * 2 ** failures))
      }
    }
    return null
  }

  private onMessage(message: AnyEnvelope, established: () => void): void {
    if (message.type === 'connection_established') established()
    if (message.type === 'token_expiring') void this.renewInBand()
    if (message.type === 'resume_unavailable') this.awaitingBaseline = true
    if (message.type === 'metrics_update' && this.awaitingBaseline) {
      this.lastSeq = message.seq ?? 0
      this.awaitingBaseline = false
    }
    if (message.type === 'activity_new') {
      const seq = message.data.seq
      if (this.lastSeq !== undefined && seq !== this.lastSeq + 1) {
        this.status(seq <= this.lastSeq ? `#${seq} was seen already` : `gap: expected #${this.lastSeq + 1}, got #${seq}`)
      }
      this.lastSeq = Math.max(this.lastSeq ?? 0, seq)
    }
    this.deps.output.message(this.options.json ? JSON.stringify(message) : formatMessage(message, this.now()))
  }

  /** Runs until stopped (resolves 0) or until something cannot be retried (resolves 1). */
  async run(): Promise<number> {
    let token = await this.token()
    if (this.stopped) return 0
    if (token === null) return 1
    let failures = 0
    let renewedToken = false
    while (!this.stopped) {
      let established = false
      const connection = this.deps.connect(
        {
          origin: this.options.origin,
          schoolId: this.options.schoolId,
          token,
          ...(this.lastSeq === undefined ? {} : { since: this.lastSeq }),
        },
        (message) =>
          this.onMessage(message, () => {
            established = true
            failures = 0
            renewedToken = false
          }),
      )
      this.current = connection
      this.status(`connecting to ${connection.description}`)
      const end = await connection.ended
      this.current = undefined
      if (this.stopped) break
      const step = nextStep(end, { failures, canRenewToken: this.options.email !== undefined && !renewedToken })
      if (step.action === 'stop') {
        this.status(`${describeEnd(end)}: ${step.why}; giving up`)
        return step.exitCode
      }
      if (!established) failures++
      const resume = this.lastSeq === undefined ? 'with a fresh snapshot' : `resuming after #${this.lastSeq}`
      this.status(`${step.why}; reconnecting in ${step.delayMs} ms, ${resume}`)
      if (step.renewToken) {
        renewedToken = true
        const renewed = await this.token()
        if (renewed === null) return this.stopped ? 0 : 1
        token = renewed
      }
      if (step.delayMs > 0) await this.sleep(step.delayMs)
    }
    return 0
  }
}
