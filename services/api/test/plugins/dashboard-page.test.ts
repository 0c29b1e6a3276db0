// The dashboard page's files: served under /dashboard/ with a strict Content-Security-Policy, the
// Socket.IO browser client beside them, and nothing else of the disk.
import t from 'tap'
import { DASHBOARD_CSP } from '../../src/plugins/dashboard-page.js'
import { buildTestApp } from '../helper.js'

t.test('the dashboard page', async (t) => {
  const { app } = await buildTestApp(t)

  t.test('serves the page at /dashboard/ and /dashboard under the policy', async (t) => {
    for (const url of ['/dashboard/', '/dashboard']) {
      const response = await app.inject({ method: 'GET', url })
      t.equal(response.statusCode, 200, url)
      t.match(response.headers['content-type'], /^text\/html/)
      t.equal(response.headers['content-security-policy'], DASHBOARD_CSP)
      t.equal(response.headers['x-content-type-options'], 'nosniff')
      t.match(response.body, /<script type="module" src="\/dashboard\/app\.js"><\/script>/)
    }
    t.match(DASHBOARD_CSP, /(^|; )script-src 'self'(;|$)/)
    t.match(DASHBOARD_CSP, /(^|; )connect-src 'self' ws: wss:(;|$)/)
  })

  t.test('serves its script and styles with their types', async (t) => {
    const script = await app.inject({ method: 'GET', url: '/dashboard/app.js' })
    t.equal(script.statusCode, 200)
    t.match(script.headers['content-type'], /javascript/)
    t.equal(script.headers['content-security-policy'], DASHBOARD_CSP)
    t.match(script.body, /from '\/dashboard\/vendor\/socket\.io\.esm\.min\.js'/)
    const styles = await app.inject({ method: 'GET', url: '/dashboard/styles.css' })
    t.equal(styles.statusCode, 200)
    t.match(styles.headers['content-type'], /^text\/css/)
  })

  t.test('serves the Socket.IO client module from node_modules', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/dashboard/vendor/socket.io.esm.min.js' })
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^text\/javascript/)
    t.match(response.body, /export\{.*\bas io\b/)
  })

  t.test('answers 404 for anything else, including paths out of its folder', async (t) => {
    for (const url of ['/dashboard/missing.js', '/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/vendor/socket.io.js']) {
      const response = await app.inject({ method: 'GET', url })
      t.equal(response.statusCode, 404, url)
    }
  })
})
