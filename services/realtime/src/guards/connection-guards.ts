// What a dashboard connection must keep satisfying beyond the handshake, the same on both transports:
// a browser Origin from the allow-list, a token that has not expired (the connection is closed when it
// does), and a bounded rate of client messages.

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

/**
 * Calls `onExpiry` when the token's `exp` (seconds since the epoch) passes; returns a cancel function.
 * Timers longer than Node's 24.8-day limit are re-armed.
 */
export function onTokenExpiry(exp: number | undefined, onExpiry: () => void): () => void {
  if (exp === undefined) return () => {}
  let timer: NodeJS.Timeout
  const arm = () => {
    const left = exp * 1000 - Date.now()
    if (left <= 0) return onExpiry()
    timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1))
    timer.unref()
  }
  arm()
  return () => clearTimeout(timer)
}

/** A fixed one-second window of allowed client messages; `take()` says whether one more fits. */
export function messageBudget(perSecond: number): { take(): boolean } {
  let windowStart = 0
  let used = 0
  return {
    take() {
      const now = Date.now()
      if (now - windowStart >= 1000) {
        windowStart = now
        used = 0
      }
      used += 1
      return used <= perSecond
    },
  }
}
