// The reconnect policy: which endings are retried, how soon, and which stop the listener.
import t from 'tap'
import { backoffDelay, BACKOFF_MAX_MS, nextStep } from '../src/reconnect-policy.js'

const context = { failures: 0, canRenewToken: false, random: () => 1 }

t.test('reconnects at once after a restart (1012)', async (t) => {
  t.match(nextStep({ kind: 'closed', code: 1012, reason: '' }, { ...context, failures: 5 }), { action: 'reconnect', delayMs: 0 })
})

t.test('backs off after a slow-consumer drop (4008), a log failure (1011) or a network failure', async (t) => {
  for (const end of [
    { kind: 'closed', code: 4008, reason: '' },
    { kind: 'closed', code: 1011, reason: '' },
    { kind: 'closed', code: 1006, reason: '' },
    { kind: 'closed', code: 0, reason: 'io server disconnect' },
    { kind: 'failed', message: 'ECONNREFUSED' },
    { kind: 'refused', status: 502, code: 'bad_gateway', message: '' },
    { kind: 'refused', status: 503, code: 'service_unavailable', message: '' },
  ] as const) {
    t.match(nextStep(end, { ...context, failures: 2 }), { action: 'reconnect', delayMs: 1000, renewToken: false }, JSON.stringify(end))
  }
})

t.test('the backoff doubles from 250 ms up to 10 s, with jitter down to half', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6, 30].map((failures) => backoffDelay(failures, () => 1)), [250, 500, 1000, 2000, 4000, 8000, 10000, 10000])
  t.equal(backoffDelay(3, () => 0), 1000)
  t.equal(backoffDelay(99, () => 0.5), BACKOFF_MAX_MS * 0.75)
})

t.test('signs in again once when the token is refused and it has a password', async (t) => {
  const refused = { kind: 'refused', status: 401, code: 'unauthorized', message: 'expired' } as const
  t.match(nextStep(refused, { ...context, canRenewToken: true }), { action: 'reconnect', delayMs: 0, renewToken: true })
  t.match(nextStep(refused, context), { action: 'stop', exitCode: 1 })
})

t.test('stops on refusals that retrying cannot fix, and on its own stop', async (t) => {
  for (const status of [400, 403, 404]) {
    t.match(nextStep({ kind: 'refused', status, code: 'x', message: 'y' }, context), { action: 'stop', exitCode: 1 })
  }
  t.match(nextStep({ kind: 'closed', code: 1009, reason: '' }, context), { action: 'stop', exitCode: 1 })
  t.match(nextStep({ kind: 'stopped' }, context), { action: 'stop', exitCode: 0 })
})
