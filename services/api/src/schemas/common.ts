// Schemas shared by every resource: ids in paths, the error body, timestamps.
import { Type } from 'typebox'
import { MAX_ID, ROLES } from '@school/events'

/** A row id: PostgreSQL `integer`, so 1 to 2^31-1; anything else is refused before the database sees it. */
export const Id = Type.Integer({ minimum: 1, maximum: MAX_ID })

export const SchoolParams = Type.Object({ id: Id })

export const Timestamp = Type.String({ format: 'date-time' })

export const RoleName = Type.Enum([...ROLES])

/** A display name: 1 to 100 characters, not only blanks (it is stored trimmed). */
export const DisplayName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' })

export const Email = Type.String({ format: 'email', maxLength: 254 })

export const ErrorBody = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  {
    description: 'An error: a stable `code`, a message, and per-field details for validation failures',
    examples: [
      { code: 'forbidden', message: 'You are not an owner or admin of this school' },
      { code: 'validation_failed', message: 'Invalid request body', errors: [{ field: 'email', message: 'is required' }] },
    ],
  },
)

/** Error statuses every route may answer with, all in the `{ code, message }` shape. */
export const errorResponses = {
  '4xx': ErrorBody,
  '5xx': ErrorBody,
} as const
