// Request and response bodies of signing in.
import { Type } from 'typebox'
import { Id, RoleName, Timestamp } from './common.js'

/** A refresh token as it is sent: anything that is not one of ours is answered refresh_token_invalid, not 400. */
const RefreshTokenField = Type.String({ minLength: 1, maxLength: 512, description: 'The refresh token (never sent by or to browsers in a body)' })

export const LoginBody = Type.Object(
  {
    // Not `format: email`: a malformed address is just an unknown one, answered like any other.
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    refreshTokenInBody: Type.Optional(
      Type.Boolean({
        description:
          'Clients that are not browsers (the terminal listener, scripts): true returns the refresh token in the body ' +
          '(`refreshToken`) instead of setting the HttpOnly `sd_refresh` cookie. Keep it secret; send it to POST /api/auth/refresh.',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ email: 'owner@example.com', password: 'owner-password' }] },
)

const SignedInUser = Type.Object({
  id: Id,
  email: Type.String(),
  name: Type.String(),
  memberships: Type.Array(Type.Object({ schoolId: Id, schoolName: Type.String(), role: RoleName })),
})

/** The refresh token, in the body only for clients that sent theirs in the body (or asked at sign-in). */
const RefreshTokenInBody = {
  refreshToken: Type.Optional(Type.String({ description: 'The new refresh token, for clients that asked for it in the body; the previous one no longer works' })),
  refreshExpiresAt: Type.Optional({ ...Timestamp, description: 'When the refresh token expires if it is not used before' }),
}

export const LoginResponse = Type.Object(
  {
    token: Type.String(),
    expiresAt: Timestamp,
    ...RefreshTokenInBody,
    user: SignedInUser,
  },
  {
    description:
      'Signed in: the access token, when it expires, and who the user is. The refresh token is set as the HttpOnly cookie ' +
      '`sd_refresh` (path /api/auth), or returned as `refreshToken` when asked with `refreshTokenInBody`',
    examples: [
      {
        token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.signature',
        expiresAt: '2026-11-24T15:03:12.000Z',
        user: {
          id: 1,
          email: 'owner@example.com',
          name: 'Olivia Owner',
          memberships: [{ schoolId: 1, schoolName: 'Escola Demo', role: 'school_owner' }],
        },
      },
    ],
  },
)

export const RefreshBody = Type.Object(
  { refreshToken: Type.Optional(RefreshTokenField) },
  { additionalProperties: false, examples: [{ refreshToken: 'yJq2x8WvC5rA0mQz1bN7dK3tLs9pE4uH6gF2iO8cVw' }] },
)

export const RefreshResponse = Type.Object(
  { token: Type.String(), expiresAt: Timestamp, ...RefreshTokenInBody, user: SignedInUser },
  {
    description:
      'A new access token of the same session, and the rotated refresh token: as the `sd_refresh` cookie when the old one ' +
      'came as a cookie, as `refreshToken` when it came in the body. The presented refresh token no longer works.',
  },
)

export const LogoutBody = Type.Object(
  { refreshToken: Type.Optional(RefreshTokenField) },
  { additionalProperties: false, examples: [{}, { refreshToken: 'yJq2x8WvC5rA0mQz1bN7dK3tLs9pE4uH6gF2iO8cVw' }] },
)

export const PasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 8, maxLength: 128 }),
  },
  { additionalProperties: false, examples: [{ currentPassword: 'owner-password', newPassword: 'a-new-long-password' }] },
)

export const NoContent = Type.Null({ description: 'Done; no body' })
