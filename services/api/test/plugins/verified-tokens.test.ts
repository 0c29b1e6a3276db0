// The memory of verified access tokens: which header forms it reads, and that a verification is taken from
// it only until the token's exp and at most REVERIFY_AFTER_MS after the check.
import t from 'tap'
import { bearerToken, MAX_TOKENS, REVERIFY_AFTER_MS, VerifiedTokens } from '../../src/plugins/verified-tokens.js'

const T0 = Date.UTC(2026, 11, 5, 12, 0, 0)

function subject(exp: number | undefined) {
  return { claims: { sub: '7', email: 'ana@example.com', sid: undefined, ...(exp === undefined ? {} : { exp }) }, userId: 7, sessionId: undefined }
}

function clock() {
  const at = { now: T0 }
  return { at, tokens: new VerifiedTokens(() => at.now) }
}

t.test('reads the token of "Bearer <token>" only, the one form @fastify/jwt reads the same way', async (t) => {
  t.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi')
  t.equal(bearerToken('bearer abc'), 'abc', 'the scheme in any case')
  for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Bearer  abc', 'Bearer a b', 'Bearer\tabc', 'Basic abc', ' Bearer abc', 'Bearerabc']) {
    t.equal(bearerToken(header), null, JSON.stringify(header))
  }
})

t.test('a verified token is taken from memory until its exp, and not at it', async (t) => {
  const { at, tokens } = clock()
  const exp = T0 / 1000 + 60
  tokens.remember('token-a', subject(exp))
  t.same(tokens.get('token-a'), { ...subject(exp), usableUntil: exp * 1000 })
  t.equal(tokens.get('token-b'), undefined, 'another token')
  t.equal(tokens.get('token-'), undefined, 'a prefix of it')
  at.now = exp * 1000 - 1
  t.ok(tokens.get('token-a'), 'a millisecond before exp')
  at.now = exp * 1000
  t.equal(tokens.get('token-a'), undefined, 'at exp')
  at.now = T0
  t.equal(tokens.get('token-a'), undefined, 'and it is forgotten, not kept for a clock that goes back')
})

t.test('a verification is trusted at most REVERIFY_AFTER_MS, however far the exp', async (t) => {
  const { at, tokens } = clock()
  tokens.remember('long-lived', subject(T0 / 1000 + 24 * 3600))
  at.now = T0 + REVERIFY_AFTER_MS - 1
  t.ok(tokens.get('long-lived'))
  at.now = T0 + REVERIFY_AFTER_MS
  t.equal(tokens.get('long-lived'), undefined)
})

t.test('a token without exp is not remembered', async (t) => {
  const { tokens } = clock()
  tokens.remember('no-exp', subject(undefined))
  t.equal(tokens.get('no-exp'), undefined)
})

t.test('the claims handed out cannot be changed by one request for the next', async (t) => {
  const { tokens } = clock()
  tokens.remember('token-a', subject(T0 / 1000 + 60))
  t.ok(Object.isFrozen(tokens.get('token-a')?.claims))
})

t.test(`holds at most ${MAX_TOKENS} tokens, forgetting the least recent`, async (t) => {
  const { tokens } = clock()
  const exp = T0 / 1000 + 60
  for (let i = 0; i <= MAX_TOKENS; i++) tokens.remember(`token-${i}`, subject(exp))
  t.equal(tokens.get('token-0'), undefined)
  t.ok(tokens.get('token-1'))
  t.ok(tokens.get(`token-${MAX_TOKENS}`))
})
