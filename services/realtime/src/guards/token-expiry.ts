// Ends each dashboard connection when its access token expires, and tells it TOKEN_EXPIRING_NOTICE_S
// before, so that it can renew the token in band. Tokens expire on whole seconds (`exp`), so connections
// are kept in one bucket per second, and their notices in one bucket per second too (exp - notice); one
// timer per instance checks both every second: a Timeout per connection cost about 200 bytes each (and a
// timer list per distinct delay). A renewed connection is disarmed under its old `exp` and armed again
// under the new one, which moves it to the buckets of its new second.

/** A connection that ends when its token does; it is its own key, so arming keeps no closure per connection. */
export interface ExpiringConnection {
  /** The token's `exp`, in seconds since the epoch. */
  readonly tokenExpiresAt: number | undefined
  /** The token expires within the notice: the client should renew it in band. */
  tokenExpiring(): void
  expire(): void
}

export interface TokenExpiry {
  /**
   * Calls `connection.tokenExpiring()` once its token is within the notice (at the next tick if it already
   * is) and `connection.expire()` once its `exp` has passed (at once if it already has).
   */
  arm(connection: ExpiringConnection): void
  /** Forgets the connection under its current `tokenExpiresAt` (call before changing it, then arm again). */
  disarm(connection: ExpiringConnection): void
  /** Checks the buckets now (tests, and the timer). */
  checkNow(): void
  /** Connections armed and not yet expired or disarmed. */
  readonly size: number
  close(): void
}

const TICK_MS = 1000

type Buckets = Map<number, Set<ExpiringConnection>>

function addTo(buckets: Buckets, second: number, connection: ExpiringConnection): void {
  let bucket = buckets.get(second)
  if (!bucket) buckets.set(second, (bucket = new Set()))
  bucket.add(connection)
}

function removeFrom(buckets: Buckets, second: number, connection: ExpiringConnection): boolean {
  const bucket = buckets.get(second)
  if (!bucket?.delete(connection)) return false
  if (bucket.size === 0) buckets.delete(second)
  return true
}

export function createTokenExpiry(options: { tickMs?: number; noticeSeconds?: number } = {}): TokenExpiry {
  const noticeSeconds = options.noticeSeconds ?? 60
  /** Connections by the second their token expires. */
  const bySecond: Buckets = new Map()
  /** Connections by the second they are to be told their token is expiring (exp - notice). */
  const noticeBySecond: Buckets = new Map()
  /** Armed already within the notice: told at the next tick (after the welcome they are being sent). */
  const noticeNow = new Set<ExpiringConnection>()
  let timer: NodeJS.Timeout | undefined
  /** Every bucket up to this second has been handled: a tick looks only at the seconds since (O(1) per tick). */
  let checkedThrough = Math.floor(Date.now() / 1000)

  const expireBucket = (second: number) => {
    const connections = bySecond.get(second)
    if (!connections) return
    bySecond.delete(second)
    for (const connection of connections) {
      noticeNow.delete(connection)
      connection.expire()
    }
  }
  const noticeBucket = (second: number) => {
    const connections = noticeBySecond.get(second)
    if (!connections) return
    noticeBySecond.delete(second)
    for (const connection of connections) connection.tokenExpiring()
  }
  /** Handles every bucket of `buckets` whose second is in (from, through]. */
  const sweep = (buckets: Buckets, from: number, through: number, handle: (second: number) => void) => {
    if (through - from > buckets.size) {
      // A long gap (the timer was off while nothing was armed): fewer buckets than seconds to look at.
      for (const second of [...buckets.keys()]) if (second <= through) handle(second)
    } else {
      for (let second = from + 1; second <= through; second += 1) handle(second)
    }
  }

  const checkNow = () => {
    const due = Math.floor(Date.now() / 1000)
    // The wall clock went back: the seconds between were already handled.
    if (due < checkedThrough) checkedThrough = due
    for (const connection of noticeNow) connection.tokenExpiring()
    noticeNow.clear()
    sweep(noticeBySecond, checkedThrough, due, noticeBucket)
    sweep(bySecond, checkedThrough, due, expireBucket)
    checkedThrough = due
    if (bySecond.size === 0 && noticeBySecond.size === 0 && timer) {
      clearInterval(timer)
      timer = undefined
    }
  }

  return {
    arm(connection) {
      const exp = connection.tokenExpiresAt
      if (exp === undefined) return
      if (exp * 1000 <= Date.now()) return connection.expire()
      addTo(bySecond, exp, connection)
      // Its notice second passed already (a short-lived token): tell it at the next tick.
      if (exp - noticeSeconds <= checkedThrough) noticeNow.add(connection)
      else addTo(noticeBySecond, exp - noticeSeconds, connection)
      if (!timer) {
        timer = setInterval(checkNow, options.tickMs ?? TICK_MS)
        timer.unref()
      }
    },
    disarm(connection) {
      const exp = connection.tokenExpiresAt
      if (exp === undefined) return
      removeFrom(bySecond, exp, connection)
      removeFrom(noticeBySecond, exp - noticeSeconds, connection)
      noticeNow.delete(connection)
    },
    checkNow,
    get size() {
      let armed = 0
      for (const connections of bySecond.values()) armed += connections.size
      return armed
    },
    close() {
      clearInterval(timer)
      timer = undefined
      bySecond.clear()
      noticeBySecond.clear()
      noticeNow.clear()
    },
  }
}
