// What the tests of this package read or drive that its callers do not need: one school's advance and one
// event of the log by id.
import type { PrismaClient } from '@school/db'
import type { DomainEvent } from '@school/events'
import { toDomainEvent, withActor } from '../src/event-log.js'
import { advanceProjections } from '../src/projection-advance.js'
import type { ProjectionAdvance } from '../src/projection-fold.js'

/** `advanceProjections` for one school; null when the school does not exist. */
export async function advanceProjection(prisma: PrismaClient, schoolId: number, options: { limit?: number } = {}): Promise<ProjectionAdvance | null> {
  return (await advanceProjections(prisma, [schoolId], options)).get(schoolId) ?? null
}

/** The event of the log with this id, as the projection reads it; null when there is none. */
export async function loadEvent(prisma: PrismaClient, eventId: string): Promise<DomainEvent | null> {
  const row = await prisma.domainEvent.findUnique({ where: { id: eventId }, include: withActor })
  return row ? toDomainEvent(row) : null
}
