// Request and response bodies of signing in.
import { Type } from 'typebox'
import { Id, RoleName, Timestamp } from './common.js'

export const LoginBody = Type.Object(
  {
    // Not `format: email`: a malformed address is just an unknown one, answered like any other.
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false, examples: [{ email: 'owner@example.com', password: 'owner-password' }] },
)

export const LoginResponse = Type.Object(
  {
    token: Type.String(),
    expiresAt: Timestamp,
    user: Type.Object({
      id: Id,
      email: Type.String(),
      name: Type.String(),
      memberships: Type.Array(Type.Object({ schoolId: Id, schoolName: Type.String(), role: RoleName })),
    }),
  },
  {
    description: 'Signed in: the access token, when it expires, and who the user is',
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
