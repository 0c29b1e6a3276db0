// revokesDashboardAccess: the events after which a user may no longer open the school's dashboard.
import t from 'tap'
import { ADMIN_ROLES, DOMAIN_EVENT_TYPES, ROLES, revokesDashboardAccess, type DomainEvent, type DomainEventPayloads, type DomainEventType, type Role } from '../src/index.js'

function event<T extends DomainEventType>(type: T, payload: DomainEventPayloads[T]): DomainEvent<T> {
  return { id: 'e1', schoolId: 1, seq: 5, type, actor: { id: 1, name: 'Olivia Owner' }, payload, occurredAt: new Date() }
}

const removed = (role: Role) => event('member.removed', { userId: 7, name: 'Ana', role })
const changed = (previousRole: Role, role: Role) => event('member.role_changed', { userId: 7, name: 'Ana', role, previousRole })

t.test('removing an owner or an admin revokes their access; removing a teacher or a student does not', async (t) => {
  t.equal(revokesDashboardAccess(removed('school_owner')), 7)
  t.equal(revokesDashboardAccess(removed('school_admin')), 7)
  t.equal(revokesDashboardAccess(removed('teacher')), null)
  t.equal(revokesDashboardAccess(removed('student')), null)
})

t.test('a role change revokes access exactly when it goes from an admin role to one that is not', async (t) => {
  for (const previousRole of ROLES) {
    for (const role of ROLES) {
      const revokes = ADMIN_ROLES.includes(previousRole) && !ADMIN_ROLES.includes(role)
      t.equal(revokesDashboardAccess(changed(previousRole, role)), revokes ? 7 : null, `${previousRole} -> ${role}`)
    }
  }
  t.equal(revokesDashboardAccess(changed('school_owner', 'school_admin')), null, 'an owner made admin keeps the dashboard')
  t.equal(revokesDashboardAccess(changed('school_admin', 'teacher')), 7)
  t.equal(revokesDashboardAccess(changed('student', 'school_admin')), null, 'a promotion grants, it does not revoke')
})

t.test('no other event revokes access', async (t) => {
  const invitation = { invitationId: 1, email: 'a@x.test', role: 'school_admin' as const }
  const others: DomainEvent[] = [
    event('member.joined', { userId: 7, name: 'Ana', role: 'school_admin' }),
    event('invitation.created', { ...invitation, status: 'pending' }),
    event('invitation.accepted', { ...invitation, status: 'accepted', userId: 7 }),
    event('invitation.declined', { ...invitation, status: 'declined' }),
    event('invitation.cancelled', { ...invitation, status: 'cancelled' }),
    event('invitation.expired', { ...invitation, status: 'expired' }),
    event('student.registered', { userId: 7, name: 'Ana', email: null }),
    event('class.created', { classId: 1, name: '5A', teacherId: 7, teacherName: 'Ana' }),
  ]
  for (const other of others) t.equal(revokesDashboardAccess(other), null, other.type)
  t.same(
    others.map((e) => e.type).sort(),
    DOMAIN_EVENT_TYPES.filter((type) => type !== 'member.removed' && type !== 'member.role_changed').sort(),
    'every other event type is covered',
  )
})
