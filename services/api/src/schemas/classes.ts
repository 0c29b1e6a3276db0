// Request and response bodies of creating a class.
import { Type } from 'typebox'
import { DisplayName, Id, Timestamp } from './common.js'

export const CreateClassBody = Type.Object(
  { name: DisplayName, teacherId: Type.Optional(Id) },
  { additionalProperties: false },
)

export const CreatedClass = Type.Object({
  id: Id,
  schoolId: Id,
  name: Type.String(),
  teacher: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  createdAt: Timestamp,
})
