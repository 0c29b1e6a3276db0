// The handshake refusals both gateways must produce, as data: who connects, to which school, and the
// exact status and code the client must see.
import type { World } from './helper.js'

export interface RefusalCase {
  name: string
  token: string | undefined
  schoolId: number | string
  status: number
  code: string
  message: string
}

export const INVALID_TOKEN_MESSAGE = 'A valid access token is required'

export async function refusalCases(world: World): Promise<RefusalCase[]> {
  const { fixture } = world
  const schoolA = fixture.schoolA.id
  // A user whose account is gone after the token was issued.
  const gone = await world.prisma.user.create({ data: { email: 'gone@fixture.test', name: 'Gina Gone' } })
  await world.prisma.membership.create({ data: { userId: gone.id, schoolId: schoolA, role: 'school_owner' } })
  const goneToken = world.token({ id: gone.id, email: 'gone@fixture.test' })
  await world.prisma.user.delete({ where: { id: gone.id } })

  const unauthorized = (name: string, token: string | undefined): RefusalCase => ({
    name,
    token,
    schoolId: schoolA,
    status: 401,
    code: 'unauthorized',
    message: INVALID_TOKEN_MESSAGE,
  })
  return [
    unauthorized('refuses a connection without a token', undefined),
    unauthorized('refuses a token that is not a JWT', 'not-a-jwt'),
    unauthorized('refuses a token signed with another key', world.token(fixture.ownerA, { secret: 'another-secret-of-at-least-32-characters!' })),
    unauthorized('refuses an expired token', world.token(fixture.ownerA, { issuedSecondsAgo: 7200, ttlSeconds: 3600 })),
    {
      name: 'refuses a token whose user no longer exists',
      token: goneToken,
      schoolId: schoolA,
      status: 401,
      code: 'unauthorized',
      message: 'The user of this access token no longer exists',
    },
    ...[
      ['refuses a teacher of the school', fixture.teacherA],
      ['refuses a student of the school', fixture.studentA],
      ["refuses another school's owner", fixture.ownerB],
      ['refuses a user of no school', fixture.outsider],
    ].map(([name, user]) => ({
      name: name as string,
      token: world.token(user as typeof fixture.ownerA),
      schoolId: schoolA,
      status: 403,
      code: 'forbidden',
      message: "Only the school's owners and admins can open its dashboard",
    })),
    ...[
      ['refuses a school that does not exist', 999_999],
      ['refuses a non-numeric school id', 'abc'],
      ['refuses a school id out of range', '2147483648'],
    ].map(([name, schoolId]) => ({
      name: name as string,
      token: world.token(fixture.ownerA),
      schoolId: schoolId as number | string,
      status: 404,
      code: 'school_not_found',
      message: 'School not found',
    })),
  ]
}
