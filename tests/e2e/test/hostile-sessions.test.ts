// Attacks on sessions against the running services, one test per case, each with its exact answer and a
// health check after: forged, expired, rotated (reused) and revoked refresh tokens; a refresh with neither
// cookie nor body; a refresh from another site's page; in-band renewals with another user's token, a
// malformed one and an expired one (the connection stays as it was); a flood of in-band refreshes, which
// the per-connection message budget bounds.
import t, { type Test } from 'tap'
import type { AnyEnvelope } from '@school/events'
import { PlainClient, SocketIoClient, startSystem, watching, type DashboardClient } from '@school/test-support/system'
import { assertStillHealthy } from './hostile-checks.js'

const BUDGET = 20
const system = await startSystem(t, 'e2e_hostile_sessions', {
  apiEnv: { LOGIN_MAX_PER_ACCOUNT: '1000', LOGIN_MAX_PER_IP: '1000' },
  realtimeEnv: { CLIENT_MESSAGES_PER_SECOND: String(BUDGET) },
})
const { fixture } = system
const legitimate = { token: await system.login(fixture.ownerB), schoolId: fixture.schoolB.id }
const schoolA = fixture.schoolA.id

async function signIn(user = fixture.ownerA): Promise<{ token: string; refreshToken: string }> {
  const { body } = await system.request('POST', '/api/auth/login', { body: { email: user.email, password: user.password, refreshTokenInBody: true } })
  return { token: body.token, refreshToken: body.refreshToken }
}

/** POST /api/auth/refresh with whatever headers and body an attacker chooses. */
async function refresh(options: { body?: unknown; cookie?: string; origin?: string }): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {}
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.cookie !== undefined) headers.cookie = `sd_refresh=${options.cookie}`
  if (options.origin !== undefined) headers.origin = options.origin
  const response = await fetch(`${system.origin}/api/auth/refresh`, { method: 'POST', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) })
  return { status: response.status, body: await response.json() }
}

const refusal = (code: string, message: string) => ({ status: 401, body: { code, message } })
const INVALID = refusal('refresh_token_invalid', 'The refresh token is not valid; sign in again')

const errorsOf = (client: DashboardClient) => client.inbox.messages.filter((m): m is Extract<AnyEnvelope, { type: 'error' }> => m.type === 'error')

t.test('a forged refresh token (well-formed, never issued) is refused', async (t) => {
  t.same(await refresh({ body: { refreshToken: 'A'.repeat(43) } }), INVALID)
  t.same(await refresh({ cookie: 'B'.repeat(43) }), INVALID)
  t.same(await refresh({ body: { refreshToken: "' OR 1=1 --" } }), INVALID, 'not one of ours at all')
  await assertStillHealthy(t, system, legitimate)
})

t.test('an expired refresh token is refused', async (t) => {
  const { token, refreshToken } = await signIn()
  const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string
  await system.prisma.refreshToken.updateMany({ where: { sessionId: sid }, data: { expiresAt: new Date(Date.now() - 1000) } })
  t.same(await refresh({ body: { refreshToken } }), refusal('refresh_token_expired', 'The refresh token has expired; sign in again'))
  await assertStillHealthy(t, system, legitimate)
})

t.test('a rotated refresh token presented again ends the session for whoever holds it', async (t) => {
  const { refreshToken: stolen } = await signIn()
  const rotated = await refresh({ body: { refreshToken: stolen } })
  t.equal(rotated.status, 200)
  const successor = (rotated.body as { refreshToken: string }).refreshToken
  t.same(
    await refresh({ body: { refreshToken: stolen } }),
    refusal('refresh_token_reused', 'This refresh token was already used: the session has been ended everywhere; sign in again'),
  )
  t.same(await refresh({ body: { refreshToken: successor } }), refusal('refresh_token_revoked', 'The session of this refresh token has ended; sign in again'))
  await assertStillHealthy(t, system, legitimate)
})

t.test('a refresh token of a signed-out session is refused', async (t) => {
  const { refreshToken } = await signIn()
  t.equal((await system.request('POST', '/api/auth/logout', { body: { refreshToken } })).status, 204)
  t.same(await refresh({ body: { refreshToken } }), refusal('refresh_token_revoked', 'The session of this refresh token has ended; sign in again'))
  await assertStillHealthy(t, system, legitimate)
})

t.test('a refresh with neither cookie nor body is refused', async (t) => {
  t.same(await refresh({}), refusal('refresh_token_missing', 'No refresh token: send the sd_refresh cookie, or {"refreshToken": ...} in the body'))
  t.same(await refresh({ body: {} }), refusal('refresh_token_missing', 'No refresh token: send the sd_refresh cookie, or {"refreshToken": ...} in the body'))
  await assertStillHealthy(t, system, legitimate)
})

t.test("a refresh from another site's page (its Origin) is refused, and does not use the token up", async (t) => {
  const { refreshToken } = await signIn()
  t.same(await refresh({ cookie: refreshToken, origin: 'https://evil.example' }), {
    status: 403,
    body: { code: 'origin_not_allowed', message: 'Requests from this origin are not allowed' },
  })
  t.equal((await refresh({ cookie: refreshToken, origin: system.origin })).status, 200, 'the page itself still can')
  await assertStillHealthy(t, system, legitimate)
})

for (const transport of ['websocket', 'socket.io'] as const) {
  t.test(`${transport}: in-band renewal with another user's, a malformed and an expired token is refused; the connection stays`, async (t) => {
    const { token } = await signIn(fixture.ownerA)
    const client = await watching<DashboardClient>(t, transport === 'websocket' ? PlainClient.connect(system.origin, schoolA, token) : SocketIoClient.connect(system.origin, schoolA, token))
    const { token: anotherUsers } = await signIn(fixture.adminA)
    const expired = system.signToken({ sub: String(fixture.ownerA.id), email: fixture.ownerA.email, exp: Math.floor(Date.now() / 1000) - 60 })
    const cases: Array<[string, string, { code: string; message: string }]> = [
      ["another user's token", anotherUsers, { code: 'token_mismatch', message: "The token is another user's or another session's; the connection is unchanged" }],
      ['a malformed token', 'eyJhbGciOiJub25lIn0.e30.', { code: 'invalid_token', message: 'The token is not a valid access token; the connection is unchanged' }],
      ['an expired token', expired, { code: 'expired_token', message: 'The token has expired; refresh it through the API first. The connection is unchanged' }],
    ]
    for (const [name, bad, answer] of cases) {
      const before = errorsOf(client).length
      client.refresh(bad)
      await client.inbox.waitFor(() => errorsOf(client).length > before, `${name}: the answer`)
      t.same(errorsOf(client)[before]!.data, answer, name)
    }
    client.ping('still here')
    await client.inbox.waitFor((m) => m.type === 'pong' && m.data === 'still here', 'the connection is unchanged')
    t.equal(client.inbox.messages.filter((m) => m.type === 'token_refreshed').length, 0)
    await assertStillHealthy(t, system, legitimate)
  })

  t.test(`${transport}: a flood of in-band refreshes is held to the message budget`, async (t) => {
    const { token } = await signIn(fixture.ownerA)
    const client = await watching<DashboardClient>(t, transport === 'websocket' ? PlainClient.connect(system.origin, schoolA, token) : SocketIoClient.connect(system.origin, schoolA, token))
    const count = 500
    for (let i = 0; i < count; i++) client.refresh(token)
    const answers = () => client.inbox.messages.filter((m) => m.type === 'token_refreshed' || m.type === 'error')
    await client.inbox.waitFor(() => answers().length >= count, `answers to ${count} refreshes`)
    const all = answers()
    const limited = all.filter((m) => m.type === 'error' && m.data.code === 'rate_limited').length
    const served = all.filter((m) => !(m.type === 'error' && m.data.code === 'rate_limited'))
    t.ok(served.length <= 2 * BUDGET, `${served.length} of ${count} taken up (at most the budget of the one or two seconds the flood spans)`)
    t.equal(limited + served.length, count, 'every message answered')
    t.ok(served.filter((m) => m.type === 'token_refreshed').length >= 1, 'the first one renewed the connection')
    t.ok(
      served.every((m) => m.type === 'token_refreshed' || (m.type === 'error' && m.data.code === 'refresh_in_progress')),
      'the others were refused while one was being checked: one database check at a time per connection',
    )
    // Still open: a ping is answered (a pong, or rate_limited while the flood's second lasts).
    const before = client.inbox.messages.length
    client.ping('after the flood')
    await client.inbox.waitFor((m) => client.inbox.messages.indexOf(m) >= before && (m.type === 'pong' || m.type === 'error'), 'still open after the flood')
    await assertStillHealthy(t, system, legitimate)
  })
}
