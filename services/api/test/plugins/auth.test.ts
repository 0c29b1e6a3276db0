// Every school-admin route refuses in the same order: 401 (token), 400 (path id), 404/403 (school),
// then 400 (body); and a refused request changes nothing.
import t from 'tap'
import { buildTestApp, claimsFor, signJwt } from '../helper.js'

const { app, fixture, prisma, config, authFor, tokenFor } = await buildTestApp(t)
const schoolA = fixture.schoolA.id

interface SchoolRoute {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH'
  path: (schoolId: string | number) => string
  /** A body the route would accept, so that only the thing under test is wrong. */
  payload?: Record<string, unknown>
  /** A body the route refuses. */
  badPayload?: Record<string, unknown>
}

const ROUTES: SchoolRoute[] = [
  {
    method: 'POST',
    path: (id) => `/api/accounts/schools/${id}/invitations/`,
    payload: { email: 'new@example.com', role: 'teacher' },
    badPayload: { email: 'not-an-email', role: 'teacher' },
  },
  { method: 'GET', path: (id) => `/api/accounts/schools/${id}/invitations/` },
  { method: 'DELETE', path: (id) => `/api/accounts/schools/${id}/invitations/1/` },
  { method: 'POST', path: (id) => `/api/accounts/schools/${id}/students/`, payload: { name: 'Sam' }, badPayload: { name: '' } },
  { method: 'POST', path: (id) => `/api/accounts/schools/${id}/classes/`, payload: { name: '1A' }, badPayload: { name: '1A', room: 4 } },
  { method: 'GET', path: (id) => `/api/accounts/schools/${id}/dashboard/` },
  { method: 'GET', path: (id) => `/api/accounts/schools/${id}/members/` },
  { method: 'DELETE', path: (id) => `/api/accounts/schools/${id}/members/${fixture.studentA.id}/` },
  {
    method: 'PATCH',
    path: (id) => `/api/accounts/schools/${id}/members/${fixture.studentA.id}/`,
    payload: { role: 'teacher' },
    badPayload: { role: 'principal' },
  },
]

function request(route: SchoolRoute, schoolId: string | number, headers: Record<string, string>, payload = route.payload) {
  return app.inject({ method: route.method, url: route.path(schoolId), headers, ...(payload ? { payload } : {}) })
}

const name = (route: SchoolRoute) => `${route.method} ${route.path(':id')}`

t.test('401 unauthorized without a valid access token', async (t) => {
  const tokens: Record<string, Record<string, string>> = {
    'no token': {},
    'a garbage token': { authorization: 'Bearer not-a-jwt' },
    'a token signed with another secret': {
      authorization: `Bearer ${signJwt(claimsFor(config, fixture.ownerA), 'another-secret-that-is-long-enough-000000')}`,
    },
    'an expired token': {
      authorization: `Bearer ${signJwt(claimsFor(config, fixture.ownerA, { iat: 1_000, exp: 2_000 }), config.JWT_SECRET)}`,
    },
    'a token for another audience': {
      authorization: `Bearer ${signJwt(claimsFor(config, fixture.ownerA, { aud: 'someone-else' }), config.JWT_SECRET)}`,
    },
    'a token naming a key that is not accepted': {
      authorization: `Bearer ${signJwt(claimsFor(config, fixture.ownerA), config.JWT_SECRET, { kid: 'retired' })}`,
    },
    'a token not valid before a time still to come (nbf)': {
      authorization: `Bearer ${signJwt(claimsFor(config, fixture.ownerA, { nbf: Math.floor(Date.now() / 1000) + 600 }), config.JWT_SECRET)}`,
    },
    'a token whose subject is not a user id': {
      authorization: `Bearer ${signJwt(claimsFor(config, fixture.ownerA, { sub: 'admin' }), config.JWT_SECRET)}`,
    },
    'a Basic authorization': { authorization: 'Basic b3duZXI6cGFzc3dvcmQ=' },
    'a Bearer header with two tokens': { authorization: 'Bearer one two' },
  }
  const messages: Record<string, string> = {
    'no token': 'An access token is required: send Authorization: Bearer <token>',
    'an expired token': 'The access token has expired',
    'a Basic authorization': 'An access token is required: send Authorization: Bearer <token>',
    'a Bearer header with two tokens': 'Send the access token as Authorization: Bearer <token>',
  }
  for (const route of ROUTES) {
    for (const [tokenName, headers] of Object.entries(tokens)) {
      const response = await request(route, schoolA, headers)
      t.equal(response.statusCode, 401, `${name(route)} with ${tokenName}`)
      t.same(
        response.json(),
        { code: 'unauthorized', message: messages[tokenName] ?? 'The access token is invalid' },
        `${name(route)} with ${tokenName}: body`,
      )
      t.equal(response.headers['www-authenticate'], 'Bearer')
    }
  }
})

t.test('a token verified once is taken from memory only as it was signed', async (t) => {
  const token = tokenFor(fixture.ownerA)
  const dashboard = async (authorization: string) =>
    (await app.inject({ method: 'GET', url: `/api/accounts/schools/${schoolA}/dashboard/`, headers: { authorization } })).statusCode
  t.equal(await dashboard(`Bearer ${token}`), 200, 'verified')
  t.equal(await dashboard(`Bearer ${token}`), 200, 'again, from memory')
  t.equal(await dashboard(`bearer ${token}`), 200, 'the scheme in another case')
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const otherSignature = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11)
  t.equal(await dashboard(`Bearer ${header}.${payload}.${otherSignature}`), 401, 'its signature changed')
  const ownerB = tokenFor(fixture.ownerB).split('.')[1]!
  t.equal(await dashboard(`Bearer ${header}.${ownerB}.${signature}`), 401, "another user's claims under its signature")
  t.equal(await dashboard(`Bearer ${token}x`), 401, 'one character more')
  t.equal(await dashboard(`Bearer ${token.slice(0, -1)}`), 401, 'one character less')
  const twoSpaces = await app.inject({ method: 'GET', url: `/api/accounts/schools/${schoolA}/dashboard/`, headers: { authorization: `Bearer  ${token}` } })
  t.same([twoSpaces.statusCode, twoSpaces.json()], [401, { code: 'unauthorized', message: 'Send the access token as Authorization: Bearer <token>' }], 'two spaces: malformed, as before it was remembered')
})

t.test('a token taken from memory still names its account to the password-change limit', async (t) => {
  const own = await buildTestApp(t, { env: { LOGIN_MAX_PER_ACCOUNT: '2', LOGIN_MAX_PER_IP: '1000' } })
  const change = async (authorization: { authorization: string }) =>
    (await own.app.inject({ method: 'POST', url: '/api/auth/password', headers: authorization, payload: { currentPassword: 'not-the-password', newPassword: 'a-brand-new-password' } })).statusCode
  const [authA, authB] = [own.authFor(own.fixture.teacherA), own.authFor(own.fixture.ownerB)]
  t.same([await change(authA), await change(authA)], [403, 403], 'verified, then from memory: two attempts of the account')
  t.equal(await change(authA), 429, 'the third attempt of the account is refused')
  t.same([await change(authB), await change(authB)], [403, 403], 'another account, also from memory the second time, has its own count')
})

t.test('the token is checked before the path id', async (t) => {
  for (const route of ROUTES) {
    const response = await request(route, 'abc', {})
    t.equal(response.statusCode, 401, name(route))
  }
})

t.test('400 validation_failed for an id that is not an integer from 1 to 2^31-1, before the database', async (t) => {
  // A user deleted after their token was issued: any membership check would answer 401, so a 400
  // proves the id was refused without asking the database.
  const ghost = await prisma.user.create({ data: { email: 'ghost@fixture.test', name: 'Ghost' } })
  await prisma.user.delete({ where: { id: ghost.id } })
  for (const id of ['abc', '2147483648', '99999999999999999999', '0', '-1', '1.5', '0x10', '1e3', '%20' + schoolA]) {
    for (const route of ROUTES) {
      const response = await request(route, id, authFor({ id: ghost.id, email: 'ghost@fixture.test' }))
      t.equal(response.statusCode, 400, `${name(route)} with id ${id}`)
      t.same(response.json().code, 'validation_failed')
      t.same(response.json().errors, [{ field: 'id', message: response.json().errors[0]?.message }])
      t.equal(response.json().message, 'Invalid path')
    }
  }
  const response = await request(ROUTES[0]!, '2147483648', authFor(fixture.ownerA))
  t.same(response.json(), {
    code: 'validation_failed',
    message: 'Invalid path',
    errors: [{ field: 'id', message: 'must be <= 2147483647' }],
  })
  const invitationId = await app.inject({
    method: 'DELETE',
    url: `/api/accounts/schools/${schoolA}/invitations/abc/`,
    headers: authFor(fixture.ownerA),
  })
  t.equal(invitationId.statusCode, 400)
  t.same(invitationId.json().errors, [{ field: 'invId', message: 'must be integer' }])
  for (const method of ['DELETE', 'PATCH'] as const) {
    const userId = await app.inject({
      method,
      url: `/api/accounts/schools/${schoolA}/members/abc/`,
      headers: authFor(fixture.ownerA),
      ...(method === 'PATCH' ? { payload: { role: 'teacher' } } : {}),
    })
    t.equal(userId.statusCode, 400, method)
    t.same(userId.json().errors, [{ field: 'userId', message: 'must be integer' }], method)
  }
})

t.test('the path id is checked before the membership', async (t) => {
  for (const route of ROUTES) {
    const response = await request(route, 'abc', authFor(fixture.teacherA))
    t.equal(response.statusCode, 400, `${name(route)}: a teacher gets 400, not 403, for a bad id`)
  }
})

t.test('404 school_not_found for a school that does not exist', async (t) => {
  for (const route of ROUTES) {
    const response = await request(route, 2_147_483_647, authFor(fixture.ownerA))
    t.equal(response.statusCode, 404, name(route))
    t.same(response.json(), { code: 'school_not_found', message: 'School not found' })
  }
})

t.test('403 forbidden for a teacher or student of the school, the owner of another school and a user of none', async (t) => {
  const users = { 'a teacher': fixture.teacherA, 'a student': fixture.studentA, 'the owner of school B': fixture.ownerB, 'an outsider': fixture.outsider }
  for (const route of ROUTES) {
    for (const [who, user] of Object.entries(users)) {
      const response = await request(route, schoolA, authFor(user))
      t.equal(response.statusCode, 403, `${name(route)} as ${who}`)
      t.same(response.json(), { code: 'forbidden', message: 'You are not an owner or admin of this school' })
    }
  }
})

t.test('the membership is checked before the body', async (t) => {
  for (const route of ROUTES.filter((r) => r.badPayload)) {
    const response = await request(route, schoolA, authFor(fixture.teacherA), route.badPayload)
    t.equal(response.statusCode, 403, `${name(route)}: a teacher with a bad body gets 403`)
    const asOwner = await request(route, schoolA, authFor(fixture.ownerA), route.badPayload)
    t.equal(asOwner.statusCode, 400, `${name(route)}: the owner with a bad body gets 400`)
    t.equal(asOwner.json().code, 'validation_failed')
  }
})

t.test('401 for a valid token whose user no longer exists', async (t) => {
  const gone = await prisma.user.create({ data: { email: 'gone@fixture.test', name: 'Gone' } })
  await prisma.membership.create({ data: { userId: gone.id, schoolId: schoolA, role: 'school_admin' } })
  const headers = authFor({ id: gone.id, email: 'gone@fixture.test' })
  t.equal((await request(ROUTES[5]!, schoolA, headers)).statusCode, 200, 'an admin while the account exists')
  await prisma.user.delete({ where: { id: gone.id } })
  for (const route of ROUTES) {
    const response = await request(route, schoolA, headers)
    t.equal(response.statusCode, 401, name(route))
    t.same(response.json(), { code: 'unauthorized', message: 'The account of this access token no longer exists' })
  }
})

t.test('no refused request changed anything', async (t) => {
  // The fixture's memberships are the only events: 4 in school A, 1 in school B.
  t.equal(await prisma.domainEvent.count({ where: { type: { not: 'member.joined' } } }), 0)
  t.equal(await prisma.invitation.count(), 0)
  t.equal(await prisma.schoolClass.count(), 0)
  const schools = await prisma.school.findMany({ select: { lastEventSeq: true }, orderBy: { id: 'asc' } })
  t.same(schools, [{ lastEventSeq: 4 }, { lastEventSeq: 1 }])
})

t.test('after a key rotation, tokens of the old key are accepted and new ones name the new key', async (t) => {
  const NEW_KEY = 'n'.repeat(40)
  const rotated = await buildTestApp(t, { env: { JWT_KEYS: `2027-01:${NEW_KEY},default:${config.JWT_SECRET}` } })
  const dashboard = (headers: Record<string, string>) =>
    rotated.app.inject({ method: 'GET', url: `/api/accounts/schools/${rotated.fixture.schoolA.id}/dashboard/`, headers })
  const oldToken = signJwt(claimsFor(config, rotated.fixture.ownerA), config.JWT_SECRET, { kid: 'default' })
  t.equal((await dashboard({ authorization: `Bearer ${oldToken}` })).statusCode, 200, 'a token of the old key, kid default')
  const newToken = rotated.tokenFor(rotated.fixture.ownerA)
  t.same(rotated.app.jwt.decode<{ header: object }>(newToken, { complete: true })?.header, { alg: 'HS256', typ: 'JWT', kid: '2027-01' })
  t.equal((await dashboard({ authorization: `Bearer ${newToken}` })).statusCode, 200, 'a token of the new key')
  const wrongKid = signJwt(claimsFor(config, rotated.fixture.ownerA), config.JWT_SECRET, { kid: '2027-01' })
  const refused = await dashboard({ authorization: `Bearer ${wrongKid}` })
  t.equal(refused.statusCode, 401, "the old key's signature under the new key's kid")
  t.same(refused.json(), { code: 'unauthorized', message: 'The access token is invalid' })
  t.equal((await app.inject({ method: 'GET', url: `/api/accounts/schools/${schoolA}/dashboard/`, headers: { authorization: `Bearer ${newToken}` } })).statusCode, 401, 'an app that does not know the new key refuses its tokens')
})
