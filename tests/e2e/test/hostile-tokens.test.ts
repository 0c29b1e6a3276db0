// Hostile access tokens against the running services, one test per token and transport: each is refused
// exactly (HTTP 401 with its code and message, plain WebSocket 401 before the upgrade, Socket.IO
// connect_error "unauthorized"), and both services stay healthy.
import t from 'tap'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import { assertStillHealthy, plainRefusal, socketIoRefusal } from './hostile-checks.js'

const system = await startSystem(t, 'e2e_hostile_tokens')
const { fixture } = system
const legitimate = { token: await system.login(fixture.adminA), schoolId: fixture.schoolA.id }
const owner = { sub: String(fixture.ownerA.id), email: fixture.ownerA.email }
const now = () => Math.floor(Date.now() / 1000)
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

const INVALID = 'The access token is invalid'
const hostileTokens: Array<{ name: string; token: () => string; httpMessage: string }> = [
  { name: 'a forged signature (another key)', token: () => system.signToken(owner, { key: 'f'.repeat(48) }), httpMessage: INVALID },
  { name: 'an expired token', token: () => system.signToken({ ...owner, exp: now() - 60 }), httpMessage: 'The access token has expired' },
  {
    name: 'alg none (no signature)',
    token: () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...owner, iss: 'school-dashboard', aud: 'school-dashboard', exp: now() + 3600 })}.`,
    httpMessage: INVALID,
  },
  { name: 'a wrong audience', token: () => system.signToken(owner, { aud: 'another-service' }), httpMessage: INVALID },
  { name: 'a wrong issuer', token: () => system.signToken(owner, { iss: 'someone-else' }), httpMessage: INVALID },
  { name: 'an unknown kid (the right key, a key id nobody accepts)', token: () => system.signToken(owner, { kid: 'retired-2025' }), httpMessage: INVALID },
  { name: 'nbf in the future', token: () => system.signToken({ ...owner, nbf: now() + 600 }), httpMessage: INVALID },
]

t.test('the legitimate token of the same user is accepted on all three (the cases below differ only in what they say)', async (t) => {
  const token = system.signToken(owner)
  const { status } = await system.request('GET', `/api/accounts/schools/${fixture.schoolA.id}/dashboard/`, { token })
  t.equal(status, 200)
  t.equal(await plainRefusal(PlainClient.connect(system.origin, fixture.schoolA.id, token)), null)
  t.equal(await socketIoRefusal(SocketIoClient.connect(system.origin, fixture.schoolA.id, token)), null)
})

for (const { name, token, httpMessage } of hostileTokens) {
  t.test(`HTTP refuses ${name}: 401 unauthorized`, async (t) => {
    const response = await system.request('GET', `/api/accounts/schools/${fixture.schoolA.id}/dashboard/`, { token: token() })
    t.same(response, { status: 401, body: { code: 'unauthorized', message: httpMessage } })
    await assertStillHealthy(t, system, legitimate)
  })

  t.test(`the plain WebSocket refuses ${name}: 401 before the upgrade`, async (t) => {
    const refusal = await plainRefusal(PlainClient.connect(system.origin, fixture.schoolA.id, token()))
    t.same(refusal, { status: 401, body: { code: 'unauthorized', message: 'A valid access token is required' } })
    await assertStillHealthy(t, system, legitimate)
  })

  t.test(`Socket.IO refuses ${name}: connect_error unauthorized`, async (t) => {
    const refusal = await socketIoRefusal(SocketIoClient.connect(system.origin, fixture.schoolA.id, token()))
    t.same(refusal, { message: 'unauthorized', data: { status: 401, code: 'unauthorized', message: 'A valid access token is required' } })
    await assertStillHealthy(t, system, legitimate)
  })
}
