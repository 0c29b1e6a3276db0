// Request and response bodies of registering a student.
import { Type } from 'typebox'
import { DisplayName, Email, Id } from './common.js'

export const RegisterStudentBody = Type.Object(
  { name: DisplayName, email: Type.Optional(Email) },
  { additionalProperties: false },
)

export const RegisteredStudent = Type.Object({
  id: Id,
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  schoolId: Id,
  role: Type.Literal('student'),
})
