// Request and response bodies of a school's members: the list, removing one, changing one's role.
import { Type } from 'typebox'
import { Id, RoleName, Timestamp } from './common.js'

export const MemberParams = Type.Object({ id: Id, userId: Id })

export const Member = Type.Object({
  userId: Id,
  name: Type.String(),
  /** Null for a student registered without one. */
  email: Type.Union([Type.String(), Type.Null()]),
  role: RoleName,
  joinedAt: Timestamp,
})

export const MemberList = Type.Array(Member, {
  description: "The school's members: owners, admins, teachers, then students, each by name",
  examples: [
    [
      { userId: 1, name: 'Olivia Owner', email: 'owner@example.com', role: 'school_owner', joinedAt: '2026-11-20T09:00:00.000Z' },
      { userId: 3, name: 'Tania Teacher', email: 'teacher@example.com', role: 'teacher', joinedAt: '2026-11-20T09:00:00.000Z' },
      { userId: 12, name: 'Samuel Student', email: null, role: 'student', joinedAt: '2026-11-24T14:03:12.301Z' },
    ],
  ],
})

export const ChangeMemberRoleBody = Type.Object(
  { role: RoleName },
  { additionalProperties: false, examples: [{ role: 'school_admin' }, { role: 'student' }] },
)

export const ChangedMember = Type.Object(
  { userId: Id, schoolId: Id, name: Type.String(), role: RoleName },
  {
    description: 'The member with their role now',
    examples: [{ userId: 3, schoolId: 1, name: 'Tania Teacher', role: 'school_admin' }],
  },
)

/** A 204 has no body; the document shows the status without content. */
export const MemberRemoved = Type.Null({ description: 'The member was removed' })
