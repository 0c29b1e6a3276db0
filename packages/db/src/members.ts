// Adding a member to a school outside an invitation (school set-up, demo data, fixtures): the membership
// and its `member.joined` event in one transaction, so the dashboard projection can be rebuilt from the log.
import type { PrismaClient } from './generated/prisma/client.js'
import type { Role } from './generated/prisma/enums.js'
import { appendDomainEvent } from './event-log.js'

export interface NewMember {
  userId: number
  schoolId: number
  role: Role
  /** The user's display name, recorded in the event as the feed shows it. */
  name: string
}

export async function addMember(prisma: PrismaClient, member: NewMember): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.membership.create({ data: { userId: member.userId, schoolId: member.schoolId, role: member.role } })
    await appendDomainEvent(tx, {
      schoolId: member.schoolId,
      type: 'member.joined',
      actorId: null,
      payload: { userId: member.userId, name: member.name, role: member.role },
    })
  })
}
