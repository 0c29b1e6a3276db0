// Ends each dashboard connection when its access token expires. Tokens expire on whole seconds (`exp`),
// so connections are kept in one bucket per second and one timer per instance checks the buckets every
// second: a Timeout per connection cost about 200 bytes each (and a timer list per distinct delay).

/** A connection that ends when its token does; it is its own key, so arming keeps no closure per connection. */
export interface ExpiringConnection {
  /** The token's `exp`, in seconds since the epoch. */
  readonly tokenExpiresAt: number | undefined
  expire(): void
}

export interface TokenExpiry {
  /** Calls `connection.expire()` once its token's `exp` has passed (at once if it already has). */
  arm(connection: ExpiringConnection): void
  disarm(connection: ExpiringConnection): void
  /** Checks the buckets now (tests, and the timer). */
  checkNow(): void
  /** Connections armed and not yet expired or disarmed. */
  readonly size: number
  close(): void
}

const TICK_MS = 1000

export function createTokenExpiry(options: { tickMs?: number } = {}): TokenExpiry {
  const bySecond = new Map<number, Set<ExpiringConnection>>()
  let timer: NodeJS.Timeout | undefined
  /** Every bucket up to this second has been expired: a tick looks only at the seconds since (O(1) per tick). */
  let checkedThrough = Math.floor(Date.now() / 1000)

  const expireBucket = (second: number) => {
    const connections = bySecond.get(second)
    if (!connections) return
    bySecond.delete(second)
    for (const connection of connections) connection.expire()
  }

  const checkNow = () => {
    const due = Math.floor(Date.now() / 1000)
    // The wall clock went back: the seconds between were already expired.
    if (due < checkedThrough) checkedThrough = due
    if (due - checkedThrough > bySecond.size) {
      // A long gap (the timer was off while nothing was armed): fewer buckets than seconds to look at.
      for (const second of [...bySecond.keys()]) if (second <= due) expireBucket(second)
    } else {
      for (let second = checkedThrough + 1; second <= due; second += 1) expireBucket(second)
    }
    checkedThrough = due
    if (bySecond.size === 0 && timer) {
      clearInterval(timer)
      timer = undefined
    }
  }

  return {
    arm(connection) {
      const exp = connection.tokenExpiresAt
      if (exp === undefined) return
      if (exp * 1000 <= Date.now()) return connection.expire()
      let bucket = bySecond.get(exp)
      if (!bucket) bySecond.set(exp, (bucket = new Set()))
      bucket.add(connection)
      if (!timer) {
        timer = setInterval(checkNow, options.tickMs ?? TICK_MS)
        timer.unref()
      }
    },
    disarm(connection) {
      const exp = connection.tokenExpiresAt
      if (exp === undefined) return
      const bucket = bySecond.get(exp)
      if (!bucket?.delete(connection)) return
      if (bucket.size === 0) bySecond.delete(exp)
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
    },
  }
}
