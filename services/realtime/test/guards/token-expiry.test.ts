// The token-expiry buckets: a connection is expired once its token's exp has passed, never before, and
// never once disarmed; the instance's one timer runs only while something is armed.
import t, { type Test } from 'tap'
import { createTokenExpiry, type ExpiringConnection } from '../../src/guards/token-expiry.js'

function connection(tokenExpiresAt: number | undefined) {
  const expired: number[] = []
  const c: ExpiringConnection & { expired: number[] } = { tokenExpiresAt, expire: () => expired.push(Date.now()), expired }
  return c
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** An expiry check that the test closes when it ends. */
function startExpiry(t: Test, options: { tickMs?: number } = {}) {
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
