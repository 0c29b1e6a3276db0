// Request and response bodies of creating a class.
import { Type } from 'typebox'
import { DisplayName, Id, Timestamp } from './common.js'

export const CreateClassBody = Type.Object(
  { name: DisplayName, teacherId: Type.Optional(Id) },
  { additionalProperties: false, examples: [{ name: '7B Mathematics', teacherId: 3 }] },
)

export const CreatedClass = Type.Object(
  {
    id: Id,
    schoolId: Id,
    name: Type.String(),
    teacher: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
    createdAt: Timestamp,
  },
  {
    description: 'The class created',
    examples: [
      { id: 4, schoolId: 1, name: '7B Mathematics', teacher: { id: 3, name: 'Tereza Teacher' }, createdAt: '2026-11-24T14:03:12.301Z' },
    ],
  },
)
