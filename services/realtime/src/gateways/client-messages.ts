// What both gateways accept in a client's `refresh` message: `{token}`, a string of sane length.

/** The longest access token a `refresh` may carry; ours are a few hundred bytes. */
const MAX_TOKEN_LENGTH = 8192

export const REFRESH_SHAPE = 'A refresh carries the new access token: {"type":"refresh","data":{"token":"<access token>"}}'

/** The token of a refresh message's data, `{token}`, or null when it is not one. */
export function refreshToken(data: unknown): string | null {
  const token = (data as { token?: unknown } | null | undefined)?.token
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH ? token : null
}
