import t from 'tap'
import { accessTokenTtlSeconds, allowedOrigins, apiConfigSchema, ConfigError, DEV_JWT_SECRET, loadConfig, realtimeConfigSchema } from '../src/index.js'

t.test('fills development defaults and converts numbers', async (t) => {
  const config = loadConfig(apiConfigSchema, { PORT: '4000', LOG_LEVEL: 'debug', UNRELATED: 'x' })
  t.equal(config.PORT, 4000)
  t.equal(config.LOG_LEVEL, 'debug')
  t.equal(config.DATABASE_URL, 'postgresql://postgres:postgres@127.0.0.1:5432/school_dashboard')
  t.equal(config.JWT_SECRET, DEV_JWT_SECRET)
  t.notOk('UNRELATED' in config)
  t.ok(Object.isFrozen(config))
})

t.test('realtime has its own port default', async (t) => {
  t.equal(loadConfig(realtimeConfigSchema, {}).PORT, 3001)
})

t.test('names every bad variable', async (t) => {
  const error = t.throws(() => loadConfig(apiConfigSchema, { PORT: 'eighty', NODE_ENV: 'prod', REDIS_URL: 'http://x' })) as ConfigError
  t.ok(error instanceof ConfigError)
  t.same(
    error.problems.map((p) => p.split(' ')[0]).sort(),
    ['NODE_ENV', 'PORT', 'REDIS_URL'],
  )
  t.match(error.message, /NODE_ENV must be one of development, test, production \(got "prod"\)/)
})

t.test('refuses the development secret in production', async (t) => {
  t.throws(() => loadConfig(apiConfigSchema, { NODE_ENV: 'production' }), /JWT_SECRET must be set/)
  const config = loadConfig(apiConfigSchema, { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) })
  t.equal(config.NODE_ENV, 'production')
})

t.test('refuses a short secret', async (t) => {
  t.throws(() => loadConfig(apiConfigSchema, { JWT_SECRET: 'short' }), /JWT_SECRET must not have fewer than 32 characters \(got 5 characters\)/)
})

t.test('treats empty strings as unset', async (t) => {
  t.equal(loadConfig(apiConfigSchema, { PORT: '' }).PORT, 3000)
})

t.test('allowed origins: the configured list, trimmed, or else the public URL origin', async (t) => {
  t.same(allowedOrigins(' https://a.test, https://b.test ,', 'http://localhost:8000'), ['https://a.test', 'https://b.test'])
  t.same(allowedOrigins('', 'https://school.example/path/'), ['https://school.example'])
})

t.test('the access-token lifetime: ACCESS_TOKEN_TTL_S, else its former name JWT_TTL_SECONDS, else 15 minutes; not both', async (t) => {
  t.equal(accessTokenTtlSeconds(loadConfig(apiConfigSchema, {})), 900)
  t.equal(accessTokenTtlSeconds(loadConfig(apiConfigSchema, { ACCESS_TOKEN_TTL_S: '120' })), 120)
  t.equal(accessTokenTtlSeconds(loadConfig(apiConfigSchema, { JWT_TTL_SECONDS: '3600' })), 3600, 'a deployment that set the old name keeps its lifetime')
  t.throws(() => loadConfig(apiConfigSchema, { ACCESS_TOKEN_TTL_S: '120', JWT_TTL_SECONDS: '3600' }), /JWT_TTL_SECONDS is the former name of ACCESS_TOKEN_TTL_S/)
  const config = loadConfig(apiConfigSchema, {})
  t.same([config.REFRESH_TOKEN_TTL_S, config.REFRESH_TOKEN_ABSOLUTE_TTL_S], [12 * 3600, 7 * 24 * 3600])
  t.equal(loadConfig(realtimeConfigSchema, {}).TOKEN_EXPIRING_NOTICE_S, 60)
})
