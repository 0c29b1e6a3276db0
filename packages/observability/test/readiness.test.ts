// Readiness and the registry: every probe answered in time, or a precise reason per dependency.
import t from 'tap'
import { checkReadiness, createServiceRegistry } from '../src/index.js'

t.test('ready when every probe answers; each failure is named and the rest still reported', async (t) => {
  t.same(await checkReadiness({ database: async () => 1, redis: async () => 'PONG' }), { ready: true, checks: { database: 'ok', redis: 'ok' } })
  const readiness = await checkReadiness(
    {
      database: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap')
      },
      redis: () => new Promise(() => {}),
      queue: async () => true,
    },
    50,
  )
  t.same(readiness, {
    ready: false,
    checks: { database: 'connect ECONNREFUSED 127.0.0.1:5432', redis: 'no answer within 50 ms', queue: 'ok' },
  })
})

t.test('a probe that throws synchronously counts as a failure, not a crash', async (t) => {
  const readiness = await checkReadiness({
    broken: () => {
      throw new Error('boom')
    },
  })
  t.same(readiness, { ready: false, checks: { broken: 'boom' } })
})

t.test('the registry exposes default metrics and dependency_up, labelled with the service', async (t) => {
  let redisUp = true
  const { metrics, contentType } = createServiceRegistry('demo', {
    redis: async () => {
      if (!redisUp) throw new Error('down')
    },
  })
  t.match(contentType, /^text\/plain/)
  const up = await metrics()
  t.match(up, /dependency_up\{dependency="redis",service="demo"\} 1/)
  t.match(up, /nodejs_eventloop_lag_seconds\{service="demo"\}/)
  t.match(up, /process_resident_memory_bytes\{service="demo"\}/)
  redisUp = false
  t.match(await metrics(), /dependency_up\{dependency="redis",service="demo"\} 0/)
})
