// Registering a student: a new user (who cannot sign in until they set a password some other way) or,
// when the email belongs to an existing user, that user joining the school as a student.
import type { CallContext } from './call-context.js'
import { done, refuse, type Outcome } from './outcomes.js'
import { changeSchool, type ChangeDeps } from './school-change.js'
import { createUser, retryIfEmailTaken } from './users.js'

export interface RegisteredStudent {
  id: number
  name: string
  email: string | null
  schoolId: number
  role: 'student'
}

export function registerStudent(
  deps: ChangeDeps,
  context: CallContext,
  input: { schoolId: number; actorId: number; name: string; email: string | null },
): Promise<Outcome<RegisteredStudent, 'school_not_found' | 'already_member'>> {
  return retryIfEmailTaken(() =>
    changeSchool(deps, context, input.schoolId, async (tx, events): Promise<Outcome<RegisteredStudent, 'already_member'>> => {
      const existing = input.email
        ? await tx.user.findUnique({ where: { email: input.email }, select: { id: true, name: true, email: true } })
        : null
      if (existing) {
        const membership = await tx.membership.findUnique({
          where: { userId_schoolId: { userId: existing.id, schoolId: input.schoolId } },
          select: { id: true },
        })
        if (membership) return refuse('already_member')
      }
      // An existing account keeps its name: the registering admin does not get to rename it.
      const user = existing ?? (await createUser(tx, { email: input.email, name: input.name, passwordHash: null }))
      await tx.membership.create({ data: { userId: user.id, schoolId: input.schoolId, role: 'student' } })
      await events.append('student.registered', input.actorId, { userId: user.id, name: user.name, email: user.email })
      return done({ id: user.id, name: user.name, email: user.email, schoolId: input.schoolId, role: 'student' as const })
    }),
  )
}
