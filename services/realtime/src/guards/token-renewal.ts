// In-band renewal: a client sends a fresh access token on its open connection before the current one
// expires. It is accepted only if it is valid, of the same user and the same session as the connection
// (a token of the same user from another session is someone else's sign-in: token_mismatch), and the
// database still has that session live and the user an owner or admin of the school, in one statement.
import type { PrismaClient } from '@school/db'
import { createTokenChecker, resolveSchoolAccess, type JwtSettings } from '@school/auth'
import type { ClientErrorCode } from '@school/events'
import type { DashboardAccess } from '../gateways/handshake.js'
import type { RevocationReason } from './access-recheck.js'

export type RenewalVerdict =
  /** Accepted: the connection now lives until `tokenExpiresAt` (seconds since the epoch). */
  | { kind: 'renewed'; tokenExpiresAt: number }
  /** Refused; the connection is unchanged. */
  | { kind: 'refused'; code: Extract<ClientErrorCode, 'invalid_token' | 'expired_token' | 'token_mismatch'>; message: string }
  /** The database says the connection must end: the role or the session is gone. */
  | { kind: 'revoked'; reason: RevocationReason }

export type RenewalCheck = (token: string, access: Readonly<DashboardAccess>) => Promise<RenewalVerdict>

const INVALID = { kind: 'refused', code: 'invalid_token', message: 'The token is not a valid access token; the connection is unchanged' } as const
const EXPIRED = { kind: 'refused', code: 'expired_token', message: 'The token has expired; refresh it through the API first. The connection is unchanged' } as const
const MISMATCH = {
  kind: 'refused',
  code: 'token_mismatch',
  message: "The token is another user's or another session's; the connection is unchanged",
} as const

export function createRenewalCheck(deps: { settings: JwtSettings; prisma: PrismaClient; onOutcome?(outcome: string): void }): RenewalCheck {
  const check = createTokenChecker(deps.settings)
  const decide = async (token: string, access: Readonly<DashboardAccess>): Promise<RenewalVerdict> => {
    const checked = await check(token)
    if (!checked.ok) return checked.reason === 'expired' ? EXPIRED : INVALID
    if (checked.userId !== access.user.id || checked.sessionId !== access.sessionId) return MISMATCH
    const exp = checked.claims.exp
    if (exp === undefined) return INVALID
    const now = await resolveSchoolAccess(deps.prisma, checked.userId, access.schoolId, checked.sessionId)
    if (now.kind === 'admin') return { kind: 'renewed', tokenExpiresAt: exp }
    return { kind: 'revoked', reason: now.kind === 'session_ended' ? 'session' : 'access' }
  }
  return async (token, access) => {
    const verdict = await decide(token, access)
    deps.onOutcome?.(verdict.kind === 'renewed' ? 'renewed' : verdict.kind === 'refused' ? verdict.code : `revoked_${verdict.reason}`)
    return verdict
  }
}
