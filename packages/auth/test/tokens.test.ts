import { createHmac } from 'node:crypto'
import t from 'tap'
import { createDecoder, createSigner } from 'fast-jwt'
import { createTokenChecker, createTokenSigner, createTokenVerifier, jwtOptions, signTokenClaims, type JwtSettings } from '../src/index.js'

const OLD = 'o'.repeat(40)
const NEW = 'n'.repeat(40)
const claims = { JWT_ISSUER: 'school-dashboard', JWT_AUDIENCE: 'school-dashboard' }
const settings: JwtSettings = { JWT_SECRET: 's'.repeat(40), ...claims }
const verify = createTokenVerifier(settings)
const { sign } = jwtOptions(settings)
const signer = (overrides: Record<string, unknown> = {}) =>
  createSigner({ key: settings.JWT_SECRET, algorithm: 'HS256', iss: sign.iss, aud: sign.aud, expiresIn: 60_000, ...overrides })
const decodeHeader = createDecoder({ complete: true })

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** A token as the API signs it under these settings (the signing key and its kid). */
function issued(keys: JwtSettings, payload: Record<string, unknown> = { sub: '42', email: 'a@b.c' }): string {
  const options = jwtOptions(keys)
  return createSigner({ ...options.sign, key: options.secret })(payload)
}

t.test('accepts a token signed with the configured key, issuer and audience', async (t) => {
  const result = await verify(signer()({ sub: '42', email: 'a@b.c' }))
  t.equal(result?.userId, 42)
  t.equal(result?.claims.email, 'a@b.c')
})

t.test('signs with the first key and names it in the kid header', async (t) => {
  const rotated = { ...claims, JWT_SECRET: '', JWT_KEYS: `2027-01:${NEW},default:${OLD}` }
  const options = jwtOptions(rotated)
  t.equal(options.secret, NEW)
  t.equal(options.sign.kid, '2027-01')
  t.same(decodeHeader(issued(rotated)).header, { alg: 'HS256', typ: 'JWT', kid: '2027-01' })
  t.equal(jwtOptions({ ...claims, JWT_SECRET: OLD }).sign.kid, 'default', 'JWT_SECRET is the key "default"')
})

t.test('a token signed with the old key stays valid after rotation, until the old key is removed', async (t) => {
  const before = { ...claims, JWT_SECRET: OLD }
  const rotated = { ...claims, JWT_SECRET: '', JWT_KEYS: `2027-01:${NEW},default:${OLD}` }
  const retired = { ...claims, JWT_SECRET: '', JWT_KEYS: `2027-01:${NEW}` }
  const oldToken = issued(before)
  const newToken = issued(rotated)
  t.equal((await createTokenVerifier(before)(oldToken))?.userId, 42, 'valid where it was signed')
  t.equal((await createTokenVerifier(rotated)(oldToken))?.userId, 42, 'valid after a new key took over signing')
  t.equal((await createTokenVerifier(rotated)(newToken))?.userId, 42, 'the new key verifies its own tokens')
  t.equal(await createTokenVerifier(retired)(oldToken), null, 'refused once its key is removed')
  t.equal((await createTokenVerifier(retired)(newToken))?.userId, 42)
  t.equal(await createTokenVerifier(before)(newToken), null, 'an instance that does not know the new key refuses its tokens')
})

t.test('refuses a kid that names no accepted key, even with a valid signature for another key', async (t) => {
  const keys = { ...claims, JWT_SECRET: '', JWT_KEYS: `k1:${NEW},k2:${OLD}` }
  const verifyKeys = createTokenVerifier(keys)
  const payload = { sub: '42' }
  t.equal(await verifyKeys(signer({ key: NEW, kid: 'k3' })(payload)), null, 'unknown kid')
  t.equal(await verifyKeys(signer({ key: NEW, kid: 'k2' })(payload)), null, 'kid of one key, signature of another')
  t.equal((await verifyKeys(signer({ key: OLD, kid: 'k2' })(payload)))?.userId, 42, 'kid and signature of the same key')
  // fast-jwt's signer only writes string kids; this one is signed by hand with the signing key.
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT', kid: 1 })}.${base64url({ sub: '42', iss: sign.iss, aud: sign.aud, exp: 9e9 })}`
  const numericKid = `${unsigned}.${createHmac('sha256', NEW).update(unsigned).digest('base64url')}`
  t.equal(await verifyKeys(numericKid), null, 'a kid that is not a string')
})

t.test('a token without kid is checked against the signing key only', async (t) => {
  const keys = { ...claims, JWT_SECRET: '', JWT_KEYS: `k1:${NEW},k2:${OLD}` }
  t.equal((await createTokenVerifier(keys)(signer({ key: NEW })({ sub: '42' })))?.userId, 42)
  t.equal(await createTokenVerifier(keys)(signer({ key: OLD })({ sub: '42' })), null)
})

t.test('refuses a token whose nbf is in the future, accepts it once nbf has passed', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  t.equal(await verify(signer()({ sub: '42', nbf: now + 60 })), null)
  t.equal((await verify(signer()({ sub: '42', nbf: now - 1 })))?.userId, 42)
})

t.test('refuses a token signed with another key', async (t) => {
  t.equal(await verify(signer({ key: 'k'.repeat(40) })({ sub: '42' })), null)
})

t.test('refuses an expired token', async (t) => {
  t.equal(await verify(signer({ expiresIn: undefined })({ sub: '42', exp: Math.floor(Date.now() / 1000) - 5 })), null)
})

t.test('refuses another audience or issuer', async (t) => {
  t.equal(await verify(signer({ aud: 'someone-else' })({ sub: '42' })), null)
  t.equal(await verify(signer({ iss: 'someone-else' })({ sub: '42' })), null)
})

t.test('refuses alg none and a tampered payload', async (t) => {
  const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: '42', iss: sign.iss, aud: sign.aud, exp: 9e9 })}.`
  t.equal(await verify(unsigned), null)
  const [header, , signature] = signer()({ sub: '42' }).split('.')
  const tampered = `${header}.${base64url({ sub: '1', iss: sign.iss, aud: sign.aud, exp: 9e9 })}.${signature}`
  t.equal(await verify(tampered), null)
})

t.test('refuses a token without a usable subject or expiry', async (t) => {
  t.equal(await verify(signer()({ sub: 'abc' })), null)
  t.equal(await verify(signer()({ sub: '-3' })), null)
  t.equal(await verify(signer({ expiresIn: undefined })({ sub: '42' })), null)
  t.equal(await verify('garbage'), null)
})

t.test('createTokenSigner signs tokens the verifier accepts, with the kid, issuer, audience and lifetime of the settings', async (t) => {
  const rotated = { ...claims, JWT_SECRET: '', JWT_KEYS: `2027-01:${NEW},default:${OLD}` }
  const token = createTokenSigner(rotated, { ttlSeconds: 120 })({ id: 7, email: 'seven@x.test' })
  t.same(decodeHeader(token).header, { alg: 'HS256', typ: 'JWT', kid: '2027-01' })
  const result = await createTokenVerifier(rotated)(token)
  t.equal(result?.userId, 7)
  t.match(result?.claims, { sub: '7', email: 'seven@x.test', iss: 'school-dashboard', aud: 'school-dashboard' })
  t.equal(result!.claims.exp! - result!.claims.iat!, 120, 'lives as long as asked')
  t.equal(await verify(token), null, 'another key set does not accept it')
})

t.test('signTokenClaims signs any claims as the API would, or with what a test changes', async (t) => {
  const check = createTokenChecker(settings)
  t.match(await check(signTokenClaims(settings, { sub: '7', email: null })), { ok: true, userId: 7 }, 'the defaults are accepted')
  const withExp = signTokenClaims(settings, { sub: '7', exp: Math.floor(Date.now() / 1000) - 5 })
  t.same(await check(withExp), { ok: false, reason: 'expired' }, 'an explicit exp is kept')
  t.same(decodeHeader(signTokenClaims(settings, { sub: '7' }, { kid: null })).header, { alg: 'HS256', typ: 'JWT' }, 'kid: null leaves it out')
  t.same(await check(signTokenClaims(settings, { sub: '7' }, { aud: 'elsewhere' })), { ok: false, reason: 'invalid' }, 'another audience')
  t.same(await check(signTokenClaims(settings, { sub: '7' }, { iss: 'elsewhere' })), { ok: false, reason: 'invalid' }, 'another issuer')
  t.same(await check(signTokenClaims(settings, { sub: '7' }, { key: 'y'.repeat(40) })), { ok: false, reason: 'invalid' }, 'another key')
  const old = signTokenClaims(settings, { sub: '7' }, { ttlSeconds: 60, issuedSecondsAgo: 120 })
  t.same(await check(old), { ok: false, reason: 'expired' }, 'issued in the past, expired by now')
})

t.test('carries the session id, and the checker tells an expired token from an invalid one', async (t) => {
  const sessionId = '0b6c1c52-3e7e-4b5e-9d7a-2f1c3c4d5e6f'
  const token = createTokenSigner(settings)({ id: 7, email: 'seven@x.test', sessionId })
  t.match(await verify(token), { userId: 7, sessionId, claims: { sid: sessionId } })
  t.match(await verify(createTokenSigner(settings)({ id: 7, email: null })), { userId: 7, sessionId: undefined }, 'a token of no session')
  const check = createTokenChecker(settings)
  t.match(await check(token), { ok: true, userId: 7, sessionId })
  t.same(await check(signer({ expiresIn: 1, clockTimestamp: Date.now() - 10_000 })({ sub: '7' })), { ok: false, reason: 'expired' })
  t.same(await check('garbage'), { ok: false, reason: 'invalid' })
  t.same(await check(signer()({ sub: '7', sid: 'not-a-uuid' })), { ok: false, reason: 'invalid' }, 'a session id that is not one')
  t.same(await check(signer({ key: 'x'.repeat(40) })({ sub: '7' })), { ok: false, reason: 'invalid' }, 'another key')
})
