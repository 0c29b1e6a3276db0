// What to do after a connection ended: reconnect now, later (exponential backoff with jitter), with a
// renewed token, or stop. Close codes as docs/PROTOCOL.md lists them.
import type { ConnectionEnd } from './dashboard-connection.js'

export const BACKOFF_BASE_MS = 250
export const BACKOFF_MAX_MS = 10_000

export type NextStep =
  | { action: 'reconnect'; delayMs: number; why: string; renewToken: boolean }
  | { action: 'stop'; exitCode: number; why: string }

/** Delay before the attempt after `failures` failed ones: 250 ms doubling to 10 s, each 50–100 % of that. */
export function backoffDelay(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 16))
  return Math.round(ceiling * (0.5 + random() / 2))
}

export interface PolicyContext {
  /** Attempts in a row that did not reach connection_established. */
  failures: number
  /** The listener signed in with a password and may sign in again. */
  canRenewToken: boolean
  random?: () => number
}

export function nextStep(end: ConnectionEnd, { failures, canRenewToken, random }: PolicyContext): NextStep {
  const later = (why: string): NextStep => ({ action: 'reconnect', delayMs: backoffDelay(failures, random), why, renewToken: false })
  switch (end.kind) {
    case 'stopped':
      return { action: 'stop', exitCode: 0, why: 'stopped' }
    case 'closed':
      switch (end.code) {
        case 1012:
          // A restart or deploy: another instance (or the same one, back) takes us at once.
          return { action: 'reconnect', delayMs: 0, why: 'the server is restarting (1012)', renewToken: false }
        case 4008:
          return later('the server dropped us as a slow consumer (4008)')
        case 1011:
          return later('the server could not read the school\'s log (1011)')
        case 1009:
          return { action: 'stop', exitCode: 1, why: 'the server refused a frame as too large (1009); this is a listener bug' }
        case 0:
          return later(`Socket.IO disconnected (${end.reason})`)
        default:
          return later(`the connection closed (${end.code}${end.reason ? ` ${end.reason}` : ''})`)
      }
    case 'refused':
      if (end.status === 401 && canRenewToken) {
        return { action: 'reconnect', delayMs: 0, why: `refused (401 ${end.code}); signing in again`, renewToken: true }
      }
      if ([400, 401, 403, 404].includes(end.status)) {
        return { action: 'stop', exitCode: 1, why: `refused: ${end.status} ${end.code}: ${end.message}` }
      }
      return later(`refused (${end.status} ${end.code})`)
    case 'failed':
      return later(`could not connect (${end.message})`)
  }
}
