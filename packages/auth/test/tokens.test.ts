import t from 'tap'
import { createSigner } from 'fast-jwt'
import { createTokenVerifier, jwtOptions } from '../src/index.js'

const settings = { JWT_SECRET: 's'.repeat(40), JWT_ISSUER: 'school-dashboard', JWT_AUDIENCE: 'school-dashboard' }
const verify = createTokenVerifier(settings)
const { sign } = jwtOptions(settings)
const signer = (overrides: Record<string, unknown> = {}) =>
  createSigner({ key: settings.JWT_SECRET, algorithm: 'HS256', iss: sign.iss, aud: sign.aud, expiresIn: 60_000, ...overrides })

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

t.test('accepts a token signed with the configured key, issuer and audience', async (t) => {
  const result = verify(signer()({ sub: '42', email: 'a@b.c' }))
  t.equal(result?.userId, 42)
  t.equal(result?.claims.email, 'a@b.c')
})

t.test('refuses a token signed with another key', async (t) => {
  t.equal(verify(signer({ key: 'k'.repeat(40) })({ sub: '42' })), null)
})

t.test('refuses an expired token', async (t) => {
  t.equal(verify(signer({ expiresIn: undefined })({ sub: '42', exp: Math.floor(Date.now() / 1000) - 5 })), null)
})

t.test('refuses another audience or issuer', async (t) => {
  t.equal(verify(signer({ aud: 'someone-else' })({ sub: '42' })), null)
  t.equal(verify(signer({ iss: 'someone-else' })({ sub: '42' })), null)
})

t.test('refuses alg none and a tampered payload', async (t) => {
  const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: '42', iss: sign.iss, aud: sign.aud, exp: 9e9 })}.`
  t.equal(verify(unsigned), null)
  const [header, , signature] = signer()({ sub: '42' }).split('.')
  const tampered = `${header}.${base64url({ sub: '1', iss: sign.iss, aud: sign.aud, exp: 9e9 })}.${signature}`
  t.equal(verify(tampered), null)
})

t.test('refuses a token without a usable subject or expiry', async (t) => {
  t.equal(verify(signer()({ sub: 'abc' })), null)
  t.equal(verify(signer()({ sub: '-3' })), null)
  t.equal(verify(signer({ expiresIn: undefined })({ sub: '42' })), null)
  t.equal(verify('garbage'), null)
})
