// Request and response bodies of signing in.
import { Type } from 'typebox'
import { Id, RoleName, Timestamp } from './common.js'

export const LoginBody = Type.Object(
  {
    // Not `format: email`: a malformed address is just an unknown one, answered like any other.
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
)

export const LoginResponse = Type.Object({
  token: Type.String(),
  expiresAt: Timestamp,
  user: Type.Object({
    id: Id,
    email: Type.String(),
    name: Type.String(),
    memberships: Type.Array(Type.Object({ schoolId: Id, schoolName: Type.String(), role: RoleName })),
  }),
})
