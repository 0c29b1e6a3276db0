import t from 'tap'
import { apiConfigSchema, ConfigError, loadConfig, proxyTrust, realtimeConfigSchema } from '../src/index.js'

t.test('TRUST_PROXY is empty by default: nobody is trusted', async (t) => {
  t.equal(loadConfig(apiConfigSchema, {}).TRUST_PROXY, '')
  t.equal(proxyTrust(''), false)
  t.equal(proxyTrust(' , '), false)
})

t.test('addresses, CIDR ranges and named ranges are trusted, nothing else', async (t) => {
  const config = loadConfig(realtimeConfigSchema, { TRUST_PROXY: '172.30.0.10, 10.1.0.0/16,loopback' })
  const trust = proxyTrust(config.TRUST_PROXY)
  if (trust === false) return t.fail('expected a trust function')
  t.ok(trust('172.30.0.10', 0))
  t.ok(trust('10.1.200.3', 1))
  t.ok(trust('127.0.0.1', 0))
  t.ok(trust('::1', 0))
  t.notOk(trust('172.30.0.11', 0))
  t.notOk(trust('203.0.113.9', 0))
})

t.test('refuses hop counts, "true" and malformed addresses, naming TRUST_PROXY', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['1', /not a hop count or "true"/],
    ['true', /not a hop count or "true"/],
    ['10.0.0.1,*', /not a hop count or "true"/],
    ['10.0.0.300', /^TRUST_PROXY invalid IP address: 10\.0\.0\.300/],
    ['10.0.0.0/33', /^TRUST_PROXY invalid range on address: 10\.0\.0\.0\/33/],
    ['localhost', /^TRUST_PROXY invalid IP address: localhost/],
  ]
  for (const [value, expected] of cases) {
    const error = t.throws(() => loadConfig(apiConfigSchema, { TRUST_PROXY: value })) as ConfigError
    t.equal(error.problems.length, 1, value)
    t.match(error.problems[0], /^TRUST_PROXY /, value)
    t.match(error.problems[0], expected, value)
  }
})
