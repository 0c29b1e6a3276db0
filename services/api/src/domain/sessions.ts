// Sessions and their refresh tokens. A sign-in starts a session (its id is the `sid` of every access token
// issued in it) with a first refresh token; each refresh exchanges the presented token for a new one
// (rotation). Tokens are 32 random bytes, stored only as their SHA-256, kept after rotation so that one
// presented again is recognised: reuse means two parties hold the session (one stole it), so the session
// is revoked. A session ends when its current token goes unused for REFRESH_TOKEN_TTL_S (idle), at
// REFRESH_TOKEN_ABSOLUTE_TTL_S after sign-in (absolute), or when revoked (sign-out, password change, reuse).
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { PrismaClient } from '@school/db'
import type { Tx } from './school-log.js'

export interface SessionLifetimes {
  /** Idle lifetime of a refresh token, in seconds. */
  idleSeconds: number
  /** Absolute lifetime of a session, in seconds. */
  absoluteSeconds: number
}

/** A refresh token just issued: the secret (given to the client once), and when it stops working. */
export interface IssuedRefreshToken {
  sessionId: string
  userId: number
  refreshToken: string
  /** Idle end of this token, never after the session's absolute end. */
  refreshExpiresAt: Date
}

export type RotationRefusal = 'invalid' | 'expired' | 'revoked' | 'reused'

export type Rotation =
  | ({ ok: true } & IssuedRefreshToken)
  /** `session` is set when the token was known: for `reused`, the session this call revoked. */
  | { ok: false; reason: RotationRefusal; session?: { id: string; userId: number } }

/** What a refresh token looks like: 32 bytes, base64url without padding. Anything else is not one. */
export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function newRefreshToken(): string {
  return randomBytes(32).toString('base64url')
}

function secondsAfter(from: Date, seconds: number): Date {
  return new Date(from.getTime() + seconds * 1000)
}

/** Starts a session for a user who just proved who they are, with its first refresh token. */
export async function startSession(prisma: PrismaClient, userId: number, lifetimes: SessionLifetimes, now = new Date()): Promise<IssuedRefreshToken> {
  const sessionId = randomUUID()
  const refreshToken = newRefreshToken()
  const expiresAt = secondsAfter(now, lifetimes.absoluteSeconds)
  const refreshExpiresAt = new Date(Math.min(secondsAfter(now, lifetimes.idleSeconds).getTime(), expiresAt.getTime()))
  await prisma.session.create({
    data: {
      id: sessionId,
      userId,
      createdAt: now,
      expiresAt,
      idleExpiresAt: refreshExpiresAt,
      refreshTokens: { create: { tokenHash: hashRefreshToken(refreshToken), createdAt: now, expiresAt: refreshExpiresAt } },
    },
  })
  return { sessionId, userId, refreshToken, refreshExpiresAt }
}

interface TokenRow {
  session_id: string
  user_id: number
  rotated_at: Date | null
  expires_at: Date
  revoked_at: Date | null
  session_expires_at: Date
}

/**
 * Exchanges a refresh token for its successor, or says why it cannot be. The claim is one conditional
 * UPDATE, so of two requests presenting the same token exactly one wins; the other finds it rotated, which
 * is reuse, and revokes the session (`revokedSession` then says which, for closing its connections).
 */
export async function rotateRefreshToken(prisma: PrismaClient, token: string, lifetimes: SessionLifetimes, now = new Date()): Promise<Rotation> {
  if (!REFRESH_TOKEN_PATTERN.test(token)) return { ok: false, reason: 'invalid' }
  const tokenHash = hashRefreshToken(token)
  const rotated = await prisma.$transaction(async (tx) => {
    const claimed = await tx.$queryRaw<Array<{ session_id: string; user_id: number; session_expires_at: Date }>>`
      UPDATE refresh_tokens rt SET rotated_at = ${now}
      FROM sessions s
      WHERE rt.token_hash = ${tokenHash} AND rt.rotated_at IS NULL AND rt.expires_at > ${now}
        AND s.id = rt.session_id AND s.revoked_at IS NULL AND s.expires_at > ${now}
      RETURNING rt.session_id::text AS session_id, s.user_id, s.expires_at AS session_expires_at`
    const row = claimed[0]
    if (!row) return null
    const refreshToken = newRefreshToken()
    const refreshExpiresAt = new Date(Math.min(secondsAfter(now, lifetimes.idleSeconds).getTime(), row.session_expires_at.getTime()))
    await tx.refreshToken.create({ data: { tokenHash: hashRefreshToken(refreshToken), sessionId: row.session_id, createdAt: now, expiresAt: refreshExpiresAt } })
    await tx.session.update({ where: { id: row.session_id }, data: { idleExpiresAt: refreshExpiresAt } })
    return { ok: true as const, sessionId: row.session_id, userId: row.user_id, refreshToken, refreshExpiresAt }
  })
  if (rotated) return rotated

  const [known] = await prisma.$queryRaw<TokenRow[]>`
    SELECT rt.session_id::text AS session_id, s.user_id, rt.rotated_at, rt.expires_at, s.revoked_at, s.expires_at AS session_expires_at
    FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
    WHERE rt.token_hash = ${tokenHash}`
  if (!known) return { ok: false, reason: 'invalid' }
  const session = { id: known.session_id, userId: known.user_id }
  if (known.revoked_at) return { ok: false, reason: 'revoked', session }
  if (known.session_expires_at <= now) return { ok: false, reason: 'expired', session }
  if (known.rotated_at) {
    // Someone else holds this session too: end it for both. Revoked by this call, or already by a racing one.
    await revokeSessions(prisma, { sessionId: known.session_id }, 'refresh_token_reused', now)
    return { ok: false, reason: 'reused', session }
  }
  return { ok: false, reason: 'expired', session }
}

/** The session a refresh token (in any state) belongs to, if it is one of ours. */
export async function sessionOfRefreshToken(prisma: PrismaClient, token: string): Promise<{ id: string; userId: number } | null> {
  if (!REFRESH_TOKEN_PATTERN.test(token)) return null
  const row = await prisma.refreshToken.findUnique({
    where: { tokenHash: hashRefreshToken(token) },
    select: { session: { select: { id: true, userId: true } } },
  })
  return row?.session ?? null
}

export type RevocationReason = 'logout' | 'password_changed' | 'refresh_token_reused'

/**
 * Revokes one session, or every session of a user, that is still live; resolves with those it revoked.
 * Their refresh tokens stop working at once, and so do their access tokens wherever the session is checked
 * (school routes, dashboard handshakes, in-band renewal, the realtime recheck).
 */
export async function revokeSessions(
  db: PrismaClient | Tx,
  which: { sessionId: string } | { userId: number },
  reason: RevocationReason,
  now = new Date(),
): Promise<Array<{ id: string; userId: number }>> {
  const rows =
    'sessionId' in which
      ? await db.$queryRaw<Array<{ id: string; user_id: number }>>`
          UPDATE sessions SET revoked_at = ${now}, revoked_reason = ${reason}
          WHERE id = ${which.sessionId}::uuid AND revoked_at IS NULL RETURNING id::text AS id, user_id`
      : await db.$queryRaw<Array<{ id: string; user_id: number }>>`
          UPDATE sessions SET revoked_at = ${now}, revoked_reason = ${reason}
          WHERE user_id = ${which.userId} AND revoked_at IS NULL RETURNING id::text AS id, user_id`
  return rows.map((row) => ({ id: row.id, userId: row.user_id }))
}

/** Is this session still live (not revoked, not past its absolute end)? */
export async function sessionIsLive(prisma: PrismaClient, sessionId: string, userId: number, now = new Date()): Promise<boolean> {
  const found = await prisma.session.findFirst({ where: { id: sessionId, userId, revokedAt: null, expiresAt: { gt: now } }, select: { id: true } })
  return found !== null
}

/** Deletes, in batches, sessions whose refresh tokens have all expired (and their tokens with them). */
export async function sweepExpiredSessions(prisma: PrismaClient, now = new Date(), batch = 1000): Promise<number> {
  let deleted = 0
  for (;;) {
    const count = await prisma.$executeRaw`
      DELETE FROM sessions WHERE id IN (
        SELECT id FROM sessions WHERE idle_expires_at < ${now} ORDER BY idle_expires_at LIMIT ${batch}
      )`
    deleted += count
    if (count < batch) return deleted
  }
}
