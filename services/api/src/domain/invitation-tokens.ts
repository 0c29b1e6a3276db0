// Invitation tokens: 32 random bytes, base64url in the link; only their SHA-256 is stored.
import { createHash, randomBytes } from 'node:crypto'

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/

export function newInvitationToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** A token that could be one of ours; anything else is answered "not found" without a query. */
export function isWellFormedInvitationToken(token: string): boolean {
  return TOKEN_FORMAT.test(token)
}

export function acceptUrlFor(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/accounts/invitations/${token}/accept/`
}
