// Sessions: sign-in gives a refresh token (an HttpOnly cookie, or the body when asked); refresh rotates it,
// a rotated one presented again revokes the session; sign-out and a password change end sessions, their
// refresh and access tokens stop working, and the realtime service is told to close their connections.
import t from 'tap'
import type { Test } from 'tap'
import { buildTestApp, type TestApp } from '../helper.js'

const PAGE_ORIGIN = 'http://school.test'
const setup = await buildTestApp(t, { env: { LOGIN_MAX_PER_ACCOUNT: '1000', LOGIN_MAX_PER_IP: '1000' } })
const { app, fixture, prisma } = setup
const dashboardUrl = `/api/accounts/schools/${fixture.schoolA.id}/dashboard/`

interface Cookie {
  name: string
  value: string
  path?: string
  httpOnly?: boolean
  sameSite?: string
  secure?: boolean
  expires?: Date
  maxAge?: number
}

const refreshCookie = (response: { cookies: Cookie[] }) => response.cookies.find((cookie) => cookie.name === 'sd_refresh')

async function signIn(user = fixture.ownerA, inBody = false) {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { origin: PAGE_ORIGIN },
    payload: { email: user.email, password: user.password, ...(inBody ? { refreshTokenInBody: true } : {}) },
  })
  if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.body}`)
  const body = response.json()
  return { token: body.token as string, refresh: (inBody ? body.refreshToken : refreshCookie(response)?.value) as string, body, response }
}

const refreshWithCookie = (refresh: string, origin: string | undefined = PAGE_ORIGIN) =>
  app.inject({ method: 'POST', url: '/api/auth/refresh', headers: origin ? { origin } : {}, cookies: { sd_refresh: refresh } })
const refreshWithBody = (refreshToken: string) => app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } })
const dashboard = (token: string) => app.inject({ method: 'GET', url: dashboardUrl, headers: { authorization: `Bearer ${token}` } })
const claimsOf = (token: string) => app.jwt.decode<{ sub: string; sid: string; exp: number }>(token)!

async function revocationJobs(setup: TestApp) {
  const jobs = await setup.revocations.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])
  return jobs.map((job) => job.data)
}

async function drainRevocations(t: Test) {
  await setup.revocations.obliterate({ force: true })
  t.teardown(() => setup.revocations.obliterate({ force: true }))
}

t.test('sign-in sets the refresh token as an HttpOnly, SameSite=Strict cookie on /api/auth, and the access token carries the session', async (t) => {
  const { token, response, body } = await signIn()
  const cookie = refreshCookie(response)
  t.ok(cookie, 'the cookie is set')
  t.match(cookie, { path: '/api/auth', httpOnly: true, sameSite: 'Strict' })
  t.notOk(cookie!.secure, 'not Secure on an http:// public URL')
  t.match(cookie!.value, /^[A-Za-z0-9_-]{43}$/, '32 random bytes')
  t.equal(body.refreshToken, undefined, 'not in the body of a browser sign-in')
  const claims = claimsOf(token)
  const session = await prisma.session.findUnique({ where: { id: claims.sid } })
  t.match(session, { userId: fixture.ownerA.id, revokedAt: null })
  const stored = await prisma.refreshToken.findMany({ where: { sessionId: claims.sid } })
  t.equal(stored.length, 1)
  t.not(stored[0]!.tokenHash, cookie!.value, 'stored only as a hash')
  t.match(stored[0]!.tokenHash, /^[0-9a-f]{64}$/)
  t.ok(Math.abs(cookie!.expires!.getTime() - stored[0]!.expiresAt.getTime()) < 1000, 'the cookie lives as long as the token')
  t.equal((await dashboard(token)).statusCode, 200)
})

t.test('a client that asks gets the refresh token in the body and no cookie', async (t) => {
  const { response, body } = await signIn(fixture.ownerA, true)
  t.equal(refreshCookie(response), undefined)
  t.match(body, { refreshToken: /^[A-Za-z0-9_-]{43}$/, refreshExpiresAt: String })
})

t.test('refresh rotates the cookie; the rotated one presented again revokes the session everywhere', async (t) => {
  await drainRevocations(t)
  const first = await signIn()
  const sid = claimsOf(first.token).sid
  const renewed = await refreshWithCookie(first.refresh)
  t.equal(renewed.statusCode, 200)
  const body = renewed.json()
  t.same(Object.keys(body).sort(), ['expiresAt', 'token', 'user'])
  t.equal(body.user.id, fixture.ownerA.id)
  t.equal(claimsOf(body.token).sid, sid, 'the same session')
  t.equal(body.expiresAt, new Date(claimsOf(body.token).exp * 1000).toISOString())
  const second = refreshCookie(renewed)!
  t.not(second.value, first.refresh, 'rotated')
  t.match(second, { path: '/api/auth', httpOnly: true, sameSite: 'Strict' })

  const reused = await refreshWithCookie(first.refresh)
  t.equal(reused.statusCode, 401)
  t.same(reused.json(), {
    code: 'refresh_token_reused',
    message: 'This refresh token was already used: the session has been ended everywhere; sign in again',
  })
  t.match(await prisma.session.findUnique({ where: { id: sid } }), { revokedReason: 'refresh_token_reused', revokedAt: Date })
  t.same(await revocationJobs(setup), [{ scope: { userId: fixture.ownerA.id, sessionId: sid }, reason: 'refresh_token_reused' }], 'the realtime service is told')

  const stolen = await refreshWithCookie(second.value)
  t.equal(stolen.statusCode, 401, 'the newest token of the session stops working too')
  t.equal(stolen.json().code, 'refresh_token_revoked')
  const refused = await dashboard(body.token)
  t.equal(refused.statusCode, 401, "the session's access tokens are refused")
  t.same(refused.json(), { code: 'unauthorized', message: 'The session of this access token has ended; sign in again' })
  t.equal((await dashboard((await signIn()).token)).statusCode, 200, 'another session of the user is untouched')
})

t.test('a token in the body is answered in the body, rotated the same way', async (t) => {
  const { refresh } = await signIn(fixture.ownerA, true)
  const renewed = await refreshWithBody(refresh)
  t.equal(renewed.statusCode, 200)
  t.equal(refreshCookie(renewed), undefined, 'no cookie')
  const { refreshToken, refreshExpiresAt } = renewed.json()
  t.match(refreshToken, /^[A-Za-z0-9_-]{43}$/)
  t.not(refreshToken, refresh)
  t.ok(Date.parse(refreshExpiresAt) > Date.now())
  t.equal((await refreshWithBody(refreshToken)).statusCode, 200, 'the new one works once')
})

t.test('two refreshes racing with one token: exactly one wins, the other is reuse', async (t) => {
  const { refresh } = await signIn(fixture.ownerA, true)
  const answers = await Promise.all([refreshWithBody(refresh), refreshWithBody(refresh)])
  t.same(answers.map((answer) => answer.statusCode).sort(), [200, 401])
  t.equal(answers.find((answer) => answer.statusCode === 401)!.json().code, 'refresh_token_reused')
})

t.test('refusals: missing, malformed, unknown, expired (idle and absolute), each 401 with its code', async (t) => {
  const missing = await app.inject({ method: 'POST', url: '/api/auth/refresh' })
  t.equal(missing.statusCode, 401)
  t.same(missing.json(), { code: 'refresh_token_missing', message: 'No refresh token: send the sd_refresh cookie, or {"refreshToken": ...} in the body' })
  for (const token of ['x', 'not a token at all!', 'A'.repeat(43)]) {
    const answer = await refreshWithBody(token)
    t.equal(answer.statusCode, 401, token)
    t.same(answer.json(), { code: 'refresh_token_invalid', message: 'The refresh token is not valid; sign in again' }, token)
  }
  const idle = await signIn(fixture.ownerA, true)
  await prisma.refreshToken.updateMany({ where: { sessionId: claimsOf(idle.token).sid }, data: { expiresAt: new Date(Date.now() - 1000) } })
  t.same((await refreshWithBody(idle.refresh)).json().code, 'refresh_token_expired', 'unused for longer than the idle lifetime')
  const old = await signIn(fixture.ownerA, true)
  await prisma.session.update({ where: { id: claimsOf(old.token).sid }, data: { expiresAt: new Date(Date.now() - 1000) } })
  t.same((await refreshWithBody(old.refresh)).json().code, 'refresh_token_expired', 'past the absolute lifetime')
  const cleared = await refreshWithCookie(old.refresh)
  t.match(refreshCookie(cleared), { value: '' }, 'a cookie that no longer works is cleared')
})

t.test("a refresh from another site's page is refused by its Origin; the page's own origin and clients without one pass", async (t) => {
  const { refresh } = await signIn()
  const crossSite = await refreshWithCookie(refresh, 'https://evil.example')
  t.equal(crossSite.statusCode, 403)
  t.same(crossSite.json(), { code: 'origin_not_allowed', message: 'Requests from this origin are not allowed' })
  const fromPage = await refreshWithCookie(refresh)
  t.equal(fromPage.statusCode, 200, 'the refused request did not use the token up')
  t.equal((await refreshWithCookie(refreshCookie(fromPage)!.value, undefined)).statusCode, 200, 'no Origin: not a browser')
})

t.test('sign-out ends the session of the cookie: 204, cookie cleared, its tokens refused, the realtime service told', async (t) => {
  await drainRevocations(t)
  const { token, refresh } = await signIn()
  const sid = claimsOf(token).sid
  const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { origin: PAGE_ORIGIN }, cookies: { sd_refresh: refresh } })
  t.equal(out.statusCode, 204)
  t.equal(out.body, '')
  t.match(refreshCookie(out), { value: '', path: '/api/auth' }, 'the cookie is cleared')
  t.equal((await refreshWithCookie(refresh)).json().code, 'refresh_token_revoked')
  t.equal((await dashboard(token)).statusCode, 401)
  t.same(await revocationJobs(setup), [{ scope: { userId: fixture.ownerA.id, sessionId: sid }, reason: 'logout' }])
  const again = await app.inject({ method: 'POST', url: '/api/auth/logout', cookies: { sd_refresh: refresh } })
  t.equal(again.statusCode, 204, 'signing out twice is fine')
})

t.test('sign-out with the access token alone, or with nothing', async (t) => {
  const { token, refresh } = await signIn(fixture.adminA, true)
  const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: `Bearer ${token}` } })
  t.equal(out.statusCode, 204)
  t.equal((await refreshWithBody(refresh)).json().code, 'refresh_token_revoked')
  const nothing = await app.inject({ method: 'POST', url: '/api/auth/logout' })
  t.equal(nothing.statusCode, 401)
  t.equal(nothing.json().code, 'unauthorized')
  const forged = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: 'Bearer forged.token.here' } })
  t.equal(forged.statusCode, 401)
})

t.test('a password change checks the current password, then ends every session of the user', async (t) => {
  await drainRevocations(t)
  const user = fixture.teacherA
  const [one, two] = [await signIn(user), await signIn(user, true)]
  const other = await signIn(fixture.ownerB)
  const change = (token: string, currentPassword: string, newPassword = 'a-brand-new-password') =>
    app.inject({ method: 'POST', url: '/api/auth/password', headers: { authorization: `Bearer ${token}` }, payload: { currentPassword, newPassword } })

  const wrong = await change(one.token, 'not-the-password')
  t.equal(wrong.statusCode, 403)
  t.same(wrong.json(), { code: 'wrong_current_password', message: 'The current password is not correct' })
  const short = await change(one.token, user.password, 'short')
  t.equal(short.statusCode, 400)
  t.same(short.json().errors, [{ field: 'newPassword', message: 'must not have fewer than 8 characters' }])
  t.equal((await change('garbage', user.password)).statusCode, 401)

  const changed = await change(one.token, user.password)
  t.equal(changed.statusCode, 204)
  t.match(refreshCookie(changed), { value: '' })
  t.equal((await refreshWithCookie(one.refresh)).json().code, 'refresh_token_revoked')
  t.equal((await refreshWithBody(two.refresh)).json().code, 'refresh_token_revoked', 'the other session too')
  t.same(await revocationJobs(setup), [{ scope: { userId: user.id }, reason: 'password_changed' }], 'every connection of the user')
  t.equal((await change(two.token, 'a-brand-new-password', 'yet-another-password')).statusCode, 401, "an ended session's token cannot change it again")
  t.equal((await refreshWithCookie(other.refresh)).statusCode, 200, "another user's session is untouched")
  const old = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })
  t.equal(old.statusCode, 401, 'the old password no longer signs in')
  const fresh = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'a-brand-new-password' } })
  t.equal(fresh.statusCode, 200, 'the new one does')
})

t.test('refreshes are limited per client address like sign-ins, and the cookie is Secure behind https', async (t) => {
  const limited = await buildTestApp(t, { env: { LOGIN_MAX_PER_IP: '2', LOGIN_MAX_PER_ACCOUNT: '100', PUBLIC_URL: 'https://school.test' } })
  const login = await limited.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: fixture.ownerA.email, password: fixture.ownerA.password } })
  t.match(refreshCookie(login), { secure: true, httpOnly: true, sameSite: 'Strict' })
  let refresh = refreshCookie(login)!.value
  for (let i = 0; i < 2; i++) {
    const answer = await limited.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { sd_refresh: refresh } })
    t.equal(answer.statusCode, 200)
    refresh = refreshCookie(answer)!.value
  }
  const third = await limited.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { sd_refresh: refresh } })
  t.equal(third.statusCode, 429)
  t.equal(third.json().code, 'rate_limited')
  t.ok(Number(third.headers['retry-after']) > 0)
})

t.test('the session sweep deletes sessions whose refresh tokens have all expired, with their tokens', async (t) => {
  const { sweepExpiredSessions } = await import('../../src/domain/sessions.js')
  const { token } = await signIn(fixture.outsider)
  const sid = claimsOf(token).sid
  await prisma.session.update({ where: { id: sid }, data: { idleExpiresAt: new Date(Date.now() - 1000) } })
  t.ok((await sweepExpiredSessions(prisma)) >= 1)
  t.equal(await prisma.session.count({ where: { id: sid } }), 0)
  t.equal(await prisma.refreshToken.count({ where: { sessionId: sid } }), 0)
})
