// Creating a class, optionally with its teacher, who must teach at that school.
import type { CallContext } from './call-context.js'
import { done, refuse, type Outcome } from './outcomes.js'
import { changeSchool, type ChangeDeps } from './school-change.js'

export interface CreatedClass {
  id: number
  schoolId: number
  name: string
  teacher: { id: number; name: string } | null
  createdAt: Date
}

export function createClass(
  deps: ChangeDeps,
  context: CallContext,
  input: { schoolId: number; actorId: number; name: string; teacherId: number | null },
): Promise<Outcome<CreatedClass, 'school_not_found' | 'invalid_teacher' | 'class_exists'>> {
  return changeSchool(deps, context, input.schoolId, async (tx, events): Promise<Outcome<CreatedClass, 'invalid_teacher' | 'class_exists'>> => {
    let teacher: { id: number; name: string } | null = null
    if (input.teacherId !== null) {
      const membership = await tx.membership.findUnique({
        where: { userId_schoolId: { userId: input.teacherId, schoolId: input.schoolId } },
        select: { role: true, user: { select: { id: true, name: true } } },
      })
      if (membership?.role !== 'teacher') return refuse('invalid_teacher')
      teacher = membership.user
    }
    // The school's row lock makes this check and the insert atomic for this school.
    const clash = await tx.schoolClass.findUnique({
      where: { schoolId_name: { schoolId: input.schoolId, name: input.name } },
      select: { id: true },
    })
    if (clash) return refuse('class_exists')
    const created = await tx.schoolClass.create({
      data: { schoolId: input.schoolId, name: input.name, teacherId: teacher?.id ?? null },
    })
    await events.append('class.created', input.actorId, {
      classId: created.id,
      name: created.name,
      teacherId: teacher?.id ?? null,
      teacherName: teacher?.name ?? null,
    })
    return done({ id: created.id, schoolId: created.schoolId, name: created.name, teacher, createdAt: created.createdAt })
  })
}
