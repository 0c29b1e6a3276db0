// The token-expiry buckets: a connection is expired once its token's exp has passed, never before, and
// never once disarmed; the instance's one timer runs only while something is armed.
import t, { type Test } from 'tap'
import { createTokenExpiry, type ExpiringConnection } from '../../src/guards/token-expiry.js'

function connection(tokenExpiresAt: number | undefined) {
  const expired: number[] = []
  const noticed: number[] = []
  const c: ExpiringConnection & { expired: number[]; noticed: number[]; tokenExpiresAt: number | undefined } = {
    tokenExpiresAt,
    expire: () => expired.push(Date.now()),
    tokenExpiring: () => noticed.push(Date.now()),
    expired,
    noticed,
  }
  return c
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** An expiry check that the test closes when it ends. */
function startExpiry(t: Test, options: { tickMs?: number; noticeSeconds?: number } = {}) {
  const expiry = createTokenExpiry(options)
  t.teardown(() => expiry.close())
  return expiry
}

t.test('expires a connection once its exp has passed, and not before', async (t) => {
  const expiry = startExpiry(t)
  const later = connection(nowSeconds() + 3600)
  const past = connection(nowSeconds() - 1)
  expiry.arm(later)
  expiry.arm(past)
  t.equal(past.expired.length, 1, 'an already expired token ends the connection at once')
  expiry.checkNow()
  t.same(later.expired, [], 'an hour early: still open')
  t.equal(expiry.size, 1)
})

t.test('the timer expires connections whose second has come, each once', async (t) => {
  const expiry = startExpiry(t, { tickMs: 20 })
  const exp = nowSeconds() + 1
  const a = connection(exp)
  const b = connection(exp)
  expiry.arm(a)
  expiry.arm(b)
  expiry.arm(a)
  t.equal(expiry.size, 2, 'arming twice keeps one entry')
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (a.expired.length > 0 && b.expired.length > 0) {
        clearInterval(check)
        resolve()
      }
    }, 10)
  })
  t.ok(a.expired[0]! >= exp * 1000, 'not before exp')
  expiry.checkNow()
  t.same([a.expired.length, b.expired.length], [1, 1], 'once each')
  t.equal(expiry.size, 0)
})

t.test('a disarmed connection is never expired, and a token without exp is not armed', async (t) => {
  const expiry = startExpiry(t)
  const exp = nowSeconds() + 1
  const gone = connection(exp)
  const forever = connection(undefined)
  expiry.arm(gone)
  expiry.arm(forever)
  expiry.disarm(gone)
  expiry.disarm(gone)
  t.equal(expiry.size, 0)
  // Pretend the second has come: nothing is left to expire.
  const realNow = Date.now
  Date.now = () => (exp + 1) * 1000
  t.teardown(() => (Date.now = realNow))
  expiry.checkNow()
  t.same(gone.expired, [])
  t.same(forever.expired, [])
})

t.test('tells a connection its token is expiring the notice before exp, from the same tick, once', async (t) => {
  const expiry = startExpiry(t, { noticeSeconds: 60 })
  const now = nowSeconds()
  const later = connection(now + 3600)
  const soon = connection(now + 30)
  expiry.arm(later)
  expiry.arm(soon)
  t.same(soon.noticed, [], 'not during arm: the welcome goes out first')
  expiry.checkNow()
  t.equal(soon.noticed.length, 1, 'already within the notice: told at the next tick')
  t.same(later.noticed, [])
  const realNow = Date.now
  t.teardown(() => (Date.now = realNow))
  Date.now = () => (now + 3600 - 60) * 1000
  expiry.checkNow()
  t.equal(later.noticed.length, 1, 'told when its notice second comes')
  t.same(later.expired, [])
  expiry.checkNow()
  t.equal(later.noticed.length, 1, 'once')
})

t.test('a renewed connection moves to the buckets of its new exp: neither expired nor told at the old one', async (t) => {
  const expiry = startExpiry(t, { noticeSeconds: 10 })
  const now = nowSeconds()
  const renewed = connection(now + 20)
  expiry.arm(renewed)
  expiry.disarm(renewed)
  renewed.tokenExpiresAt = now + 120
  expiry.arm(renewed)
  t.equal(expiry.size, 1)
  const realNow = Date.now
  t.teardown(() => (Date.now = realNow))
  Date.now = () => (now + 21) * 1000
  expiry.checkNow()
  t.same([renewed.noticed.length, renewed.expired.length], [0, 0], 'the old exp passed without effect')
  Date.now = () => (now + 110) * 1000
  expiry.checkNow()
  t.same([renewed.noticed.length, renewed.expired.length], [1, 0], 'the new notice')
  Date.now = () => (now + 120) * 1000
  expiry.checkNow()
  t.same(renewed.expired.length, 1, 'the new exp')
  t.equal(expiry.size, 0)
})
