// What a dashboard connection must keep satisfying beyond the handshake, the same on both transports:
// a browser Origin from the allow-list and a token that has not expired (the connection is closed when it
// does). The message budget is DashboardConnection.takeMessage().

/** A request without Origin is not a browser (curl, ws, python); a browser's must be allowed. */
export function originAllowed(origin: string | string[] | undefined, allowed: ReadonlySet<string>): boolean {
  if (origin === undefined) return true
  return typeof origin === 'string' && allowed.has(origin)
}

export const ORIGIN_REFUSAL = {
  status: 403,
  code: 'origin_not_allowed',
  message: 'This origin may not open dashboard connections',
} as const

/** Close code for a connection whose access token expired: sign in again, then reconnect with `since`. */
export const TOKEN_EXPIRED = 4001

/** A connection that ends when its token does; the timer lives on the connection, no closure per connection. */
export interface ExpiringConnection {
  /** The token's `exp`, in seconds since the epoch. */
  readonly tokenExpiresAt: number | undefined
  expiryTimer: NodeJS.Timeout | undefined
  expire(): void
}

// Node's timers hold at most 2^31-1 ms (24.8 days); a later expiry is re-armed when that one fires.
const MAX_TIMER_MS = 2 ** 31 - 1

function onExpiryTimer(connection: ExpiringConnection): void {
  connection.expiryTimer = undefined
  armTokenExpiry(connection)
}

/** Calls `connection.expire()` once its token's `exp` passes (at once if it already has). */
export function armTokenExpiry(connection: ExpiringConnection): void {
  const exp = connection.tokenExpiresAt
  if (exp === undefined) return
  const left = exp * 1000 - Date.now()
  if (left <= 0) return connection.expire()
  connection.expiryTimer = setTimeout(onExpiryTimer, Math.min(left, MAX_TIMER_MS), connection)
  connection.expiryTimer.unref()
}

export function disarmTokenExpiry(connection: ExpiringConnection): void {
  clearTimeout(connection.expiryTimer)
  connection.expiryTimer = undefined
}
