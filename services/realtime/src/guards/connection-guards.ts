// What a dashboard connection must keep satisfying beyond the handshake, the same on both transports:
// a browser Origin from the allow-list and a token that has not expired (the connection is closed when it
// does: guards/token-expiry.ts). The message budget is DashboardConnection.takeMessage().

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
