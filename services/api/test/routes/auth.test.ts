// POST /api/auth/login: who may sign in, and what a refusal gives away (nothing).
import t from 'tap'
import { accessTokenTtlSeconds } from '@school/config'
import { buildTestApp } from '../helper.js'

const { app, fixture, prisma, config } = await buildTestApp(t)

const INVALID_CREDENTIALS = { code: 'invalid_credentials', message: 'Invalid email or password' }

t.test('signs in with email and password and returns a token, its expiry and the memberships', async (t) => {
  const before = Math.floor(Date.now() / 1000)
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: fixture.ownerA.email, password: fixture.ownerA.password },
  })
  t.equal(response.statusCode, 200)
  const body = response.json()
  t.same(body.user, {
    id: fixture.ownerA.id,
    email: fixture.ownerA.email,
    name: 'Olivia Owner',
    memberships: [{ schoolId: fixture.schoolA.id, schoolName: 'School A', role: 'school_owner' }],
  })
  // The verifier picks its key by the token's kid, asynchronously: verify resolves to the claims.
  const claims = await (app.jwt.verify(body.token) as unknown as Promise<{ sub: string; email: string; exp: number; iss: string; aud: string }>)
  t.same(app.jwt.decode<{ header: object }>(body.token, { complete: true })?.header, { alg: 'HS256', typ: 'JWT', kid: 'default' }, 'signed with the key "default"')
  t.equal(claims.sub, String(fixture.ownerA.id))
  t.equal(claims.email, fixture.ownerA.email)
  t.equal(claims.iss, config.JWT_ISSUER)
  t.equal(claims.aud, config.JWT_AUDIENCE)
  t.equal(body.expiresAt, new Date(claims.exp * 1000).toISOString(), 'expiresAt is the expiry the token carries')
  const ttl = accessTokenTtlSeconds(config)
  t.ok(claims.exp >= before + ttl && claims.exp <= before + ttl + 2, 'the token lives ACCESS_TOKEN_TTL_S')

  const dashboard = await app.inject({
    method: 'GET',
    url: `/api/accounts/schools/${fixture.schoolA.id}/dashboard`,
    headers: { authorization: `Bearer ${body.token}` },
  })
  t.equal(dashboard.statusCode, 200, 'the token opens the school routes')
})

t.test('compares emails trimmed and case-insensitively', async (t) => {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login/',
    payload: { email: '  ADMIN-A@Fixture.Test ', password: fixture.adminA.password },
  })
  t.equal(response.statusCode, 200)
  t.equal(response.json().user.id, fixture.adminA.id)
  t.equal(response.json().user.email, fixture.adminA.email)
})

t.test('a user of no school signs in with no memberships', async (t) => {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: fixture.outsider.email, password: fixture.outsider.password },
  })
  t.equal(response.statusCode, 200)
  t.same(response.json().user.memberships, [])
})

t.test('unknown email, wrong password and an account without password get the same 401', async (t) => {
  await prisma.user.create({ data: { email: 'no-password@fixture.test', name: 'No Password', passwordHash: null } })
  const attempts = {
    'unknown email': { email: 'nobody@fixture.test', password: fixture.ownerA.password },
    'wrong password': { email: fixture.ownerA.email, password: 'not-the-password' },
    'account without password': { email: 'no-password@fixture.test', password: 'anything-at-all' },
  }
  const answers: Record<string, { status: number; body: string; header: string | undefined }> = {}
  for (const [name, payload] of Object.entries(attempts)) {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload })
    answers[name] = { status: response.statusCode, body: response.body, header: response.headers['content-type'] as string }
    t.equal(response.statusCode, 401, name)
    t.same(response.json(), INVALID_CREDENTIALS, name)
  }
  t.equal(answers['unknown email']!.body, answers['wrong password']!.body, 'byte-identical bodies')
  t.equal(answers['unknown email']!.body, answers['account without password']!.body, 'byte-identical bodies')
})

t.test('refuses a malformed body with the fields at fault', async (t) => {
  const missing = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: fixture.ownerA.email } })
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), {
    code: 'validation_failed',
    message: 'Invalid request body',
    errors: [{ field: 'password', message: 'is required' }],
  })
  const extra = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: fixture.ownerA.email, password: fixture.ownerA.password, remember: true },
  })
  t.equal(extra.statusCode, 400)
  t.same(extra.json().errors, [{ field: 'remember', message: 'is not allowed' }])
  const wrongType = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 42, password: '' } })
  t.equal(wrongType.statusCode, 400)
  t.same(wrongType.json().errors.map((e: { field: string }) => e.field).sort(), ['email', 'password'])
})
