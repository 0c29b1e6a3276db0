import t from 'tap'
import { SERVER_SETTINGS_FROM_ENV, serverNodeFlags, serverSettingsFromEnv } from '../src/harness/pinned-process.js'

t.test('passes only the listed service settings that are set, as they are', async (t) => {
  t.ok(SERVER_SETTINGS_FROM_ENV.includes('DATABASE_PREPARED_STATEMENTS'))
  t.strictSame(serverSettingsFromEnv({ DATABASE_PREPARED_STATEMENTS: '0', DATABASE_URL: 'postgresql://elsewhere/x', PATH: '/bin' }), {
    DATABASE_PREPARED_STATEMENTS: '0',
  })
  t.strictSame(serverSettingsFromEnv({}), {}, 'nothing set: the services keep their defaults')
})

t.test('node flags for the servers: split on spaces, none when unset', async (t) => {
  t.strictSame(serverNodeFlags({ BENCH_SERVER_NODE_FLAGS: ' --max-semi-space-size=64  --trace-gc ' }), ['--max-semi-space-size=64', '--trace-gc'])
  t.strictSame(serverNodeFlags({}), [])
  t.ok(SERVER_SETTINGS_FROM_ENV.includes('BENCH_SERVER_NODE_FLAGS'), 'and the result\'s command shows them')
})
