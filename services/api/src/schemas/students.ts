// Request and response bodies of registering a student.
import { Type } from 'typebox'
import { DisplayName, Email, Id } from './common.js'

export const RegisterStudentBody = Type.Object(
  { name: DisplayName, email: Type.Optional(Email) },
  { additionalProperties: false, examples: [{ name: 'Samuel Student', email: 'samuel@example.com' }, { name: 'Rita Reader' }] },
)

export const RegisteredStudent = Type.Object(
  {
    id: Id,
    name: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    schoolId: Id,
    role: Type.Literal('student'),
  },
  {
    description: 'The student registered',
    examples: [{ id: 12, name: 'Samuel Student', email: 'samuel@example.com', schoolId: 1, role: 'student' }],
  },
)
