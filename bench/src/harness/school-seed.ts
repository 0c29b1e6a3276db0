// Many schools for a bench world, in the state the system would have reached on its own (the seeding is
// @school/test-support's, shared with the scale tests), then vacuumed and analyzed so that neither the
// planner nor autovacuum notices the bulk insert later, in a measured window.
import type { PrismaClient } from '@school/db'
import { seedManySchools, type SeededSchool } from '@school/test-support'

export type { SeededSchool }

/** `schools` schools with `perSchool` members each (one school_owner, the rest school_admin); `label` keeps emails apart. */
export async function seedSchools(prisma: PrismaClient, schools: number, perSchool: number, label: string): Promise<SeededSchool[]> {
  const seeded = await seedManySchools(prisma, { schools, adminsPerSchool: perSchool, label })
  await prisma.$executeRawUnsafe('VACUUM ANALYZE schools, users, memberships, domain_events, school_dashboard_projections')
  return seeded
}
