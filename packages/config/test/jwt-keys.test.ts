import t from 'tap'
import { apiConfigSchema, ConfigError, DEV_JWT_SECRET, jwtKeys, JWT_SECRET_KID, loadConfig, realtimeConfigSchema } from '../src/index.js'

const OLD = 'o'.repeat(40)
const NEW = 'n'.repeat(40)

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(apiConfigSchema, env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('JWT_SECRET alone is one key, the key id "default"', async (t) => {
  const config = loadConfig(apiConfigSchema, { JWT_SECRET: OLD })
  t.same(jwtKeys(config), [{ kid: JWT_SECRET_KID, secret: OLD }])
  t.equal(JWT_SECRET_KID, 'default')
  t.same(jwtKeys(loadConfig(realtimeConfigSchema, {})), [{ kid: 'default', secret: DEV_JWT_SECRET }], 'the development default')
})

t.test('JWT_KEYS lists kid:secret pairs, the first signs, spaces around entries ignored', async (t) => {
  const config = loadConfig(realtimeConfigSchema, { JWT_KEYS: ` 2027-01:${NEW} , default:${OLD},` })
  t.same(jwtKeys(config), [
    { kid: '2027-01', secret: NEW },
    { kid: 'default', secret: OLD },
  ])
})

t.test('a secret may contain colons: only the first one separates the key id', async (t) => {
  const secret = `a:b:${'c'.repeat(40)}`
  t.same(jwtKeys(loadConfig(apiConfigSchema, { JWT_KEYS: `k1:${secret}` })), [{ kid: 'k1', secret }])
})

t.test('names JWT_KEYS for each malformed entry, without repeating any secret', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['no-colon-here', /JWT_KEYS entry 1 must be written kid:secret/],
    [`bad kid!:${NEW}`, /JWT_KEYS entry 1: a key id is 1 to 64 letters, digits/],
    [`:${NEW}`, /JWT_KEYS entry 1: a key id/],
    [`k1:${NEW},k1:${OLD}`, /JWT_KEYS lists the key id "k1" twice/],
    ['k1:short-secret-of-20c', /JWT_KEYS key "k1" must be at least 32 characters/],
    [',, ,', /JWT_KEYS lists no key/],
  ]
  for (const [value, expected] of cases) {
    const problems = problemsOf({ JWT_KEYS: value })
    t.equal(problems.length, 1, value)
    t.match(problems[0], expected, value)
    t.notMatch(problems.join(' '), /short-secret|nnnnnnnn|oooooooo/, 'no secret in the message')
  }
})

t.test('JWT_KEYS and JWT_SECRET together are refused: which one would sign is not obvious', async (t) => {
  t.match(problemsOf({ JWT_KEYS: `k1:${NEW}`, JWT_SECRET: OLD }), [/^JWT_KEYS and JWT_SECRET are both set/])
})

t.test('production refuses the development secret in any key, and keys shorter than 32 characters', async (t) => {
  const production = { NODE_ENV: 'production' }
  t.match(problemsOf({ ...production, JWT_KEYS: `k1:${NEW},old:${DEV_JWT_SECRET}` }), [/JWT_KEYS key "old" is the public development secret/])
  t.match(problemsOf({ ...production, JWT_KEYS: `k1:${'x'.repeat(31)}` }), [/JWT_KEYS key "k1" must be at least 32 characters/])
  t.match(problemsOf({ ...production, JWT_SECRET: 'x'.repeat(31) }), [/^JWT_SECRET must not have fewer than 32 characters \(got 31 characters\)$/])
  t.same(problemsOf({ ...production, JWT_KEYS: `k1:${NEW},k0:${OLD}` }), [], 'own keys of 32+ characters are accepted')
  t.same(problemsOf({ ...production, JWT_KEYS: `k1:${NEW}` }), [], 'JWT_KEYS alone: the unused JWT_SECRET default is no problem')
  t.same(problemsOf({ JWT_KEYS: `dev:${DEV_JWT_SECRET}` }), [], 'outside production the development secret is allowed')
})
