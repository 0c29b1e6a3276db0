// Extra schools owned by the fixture's owner A (the user of the world's token), so that one token can
// write into all of them: load spread over many schools, as a deployment sees it.
import type { BenchWorld } from './bench-world.js'

export async function createOwnedSchools(world: BenchWorld, count: number): Promise<number[]> {
  const base = `bench school ${Date.now()}`
  await world.prisma.school.createMany({ data: Array.from({ length: count }, (_, i) => ({ name: `${base} ${i}` })) })
  const schools = await world.prisma.school.findMany({ where: { name: { startsWith: base } }, select: { id: true }, orderBy: { id: 'asc' } })
  await world.prisma.membership.createMany({
    data: schools.map((school) => ({ schoolId: school.id, userId: world.fixture.ownerA.id, role: 'school_owner' as const })),
  })
  return schools.map((school) => school.id)
}
