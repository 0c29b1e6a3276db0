// What a client may send on either transport, once it has been read as a message of a known type: a `ping`
// is answered with a `pong`, a `refresh` carries `{token}`, a string of sane length, for in-band renewal.
import { envelope, type AnyEnvelope, type ClientMessageType } from '@school/events'

/** The longest access token a `refresh` may carry; ours are a few hundred bytes. */
const MAX_TOKEN_LENGTH = 8192

export const REFRESH_SHAPE = 'A refresh carries the new access token: {"type":"refresh","data":{"token":"<access token>"}}'

/** The token of a refresh message's data, `{token}`, or null when it is not one. */
export function refreshToken(data: unknown): string | null {
  const token = (data as { token?: unknown } | null | undefined)?.token
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH ? token : null
}

/** What a client message asks for: an answer to send at once, or an in-band renewal with this token. */
export type ClientFrame = { kind: 'answer'; message: AnyEnvelope } | { kind: 'refresh'; token: string }

/** A client message of a known type: a ping gets its pong, a refresh its renewal (or an `error` if malformed). */
export function clientFrameOf(type: ClientMessageType, data: unknown): ClientFrame {
  if (type === 'ping') return { kind: 'answer', message: envelope('pong', data ?? null) }
  const token = refreshToken(data)
  return token === null ? { kind: 'answer', message: envelope('error', { code: 'invalid_message', message: REFRESH_SHAPE }) } : { kind: 'refresh', token }
}
