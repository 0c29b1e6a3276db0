// The dashboard page in a real browser against the running system: two windows of one school, an
// invitation sent from one appears live in the other, and a realtime restart loses nothing.
import t from 'tap'
import type { Page } from 'playwright-core'
import { startSystem } from '@school/test-support/system'
import type { FixtureUser } from '@school/test-support'
import { chromiumMissing, launchBrowser, screenshotPath } from './helper.js'

const missing = chromiumMissing()

/** Signs in through the form, picks the school and waits for the live connection. */
async function openDashboard(page: Page, origin: string, user: FixtureUser, schoolId: number): Promise<void> {
  await page.goto(`${origin}/dashboard/`)
  await page.locator('#email').fill(user.email)
  await page.locator('#password').fill(user.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByLabel('School you administer').selectOption(String(schoolId))
  await page.getByRole('button', { name: 'Open dashboard' }).click()
  await page.locator('#connection-state[data-state="connected"]').waitFor()
}

const metric = (page: Page, name: string) => page.locator(`[data-metric="${name}"]`)
const feedEntry = (page: Page, seq: number) => page.locator(`#feed li[data-seq="${seq}"] .summary`)
const invitationRow = (page: Page, email: string) => page.locator('#invitations tbody tr', { hasText: email })

t.test('the dashboard page shows changes live in a second window and catches up after a realtime restart', { skip: missing ?? false }, async (t) => {
  const system = await startSystem(t, 'browser')
  const { schoolA, ownerA, adminA } = system.fixture
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const problems: string[] = []
  const watch = (page: Page, name: string) => {
    page.on('pageerror', (error) => problems.push(`${name}: ${error.message}`))
    // The realtime service is down for a while on purpose; failed reconnection requests are expected.
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(message.text())) {
        problems.push(`${name} console: ${message.text()}`)
      }
    })
  }
  // Two people, two browsers: the tabs of one browser share its session (the refresh cookie).
  const watcherContext = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const sender = await context.newPage()
  const watcher = await watcherContext.newPage()
  watch(sender, 'sender')
  watch(watcher, 'watcher')

  // The page is served with a strict policy.
  const response = await watcher.goto(`${system.origin}/dashboard/`)
  t.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'.*connect-src 'self' ws: wss:/)

  await openDashboard(sender, system.origin, ownerA, schoolA.id)
  await openDashboard(watcher, system.origin, adminA, schoolA.id)
  t.equal(await watcher.locator('#school-name').textContent(), `· ${schoolA.name}`)
  t.equal(await metric(watcher, 'pendingInvitations').textContent(), '0')
  t.equal(await metric(watcher, 'admins').textContent(), '2')
  // The fixture's members are events #1 to #4: the feed shows them from the API's first render.
  t.equal(await watcher.locator('#feed li').count(), 4)
  // A marker that a reload or navigation would wipe out.
  await watcher.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true))

  // Accessibility basics: every control has a label; the feed and the connection state are live regions.
  const unlabelled = await watcher.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((control) => (control as HTMLInputElement).labels?.length === 0)
      .map((control) => control.id),
  )
  t.same(unlabelled, [])
  t.equal(await watcher.locator('#feed').getAttribute('aria-live'), 'polite')
  t.equal(await watcher.locator('#connection-state').getAttribute('role'), 'status')

  // Presence: each window shows who is watching, both users, sorted by name.
  for (const page of [sender, watcher]) await page.locator('#watchers li', { hasText: ownerA.name }).waitFor()
  await watcher.locator('#watchers li', { hasText: adminA.name }).waitFor()
  t.same(await watcher.locator('#watchers li').allTextContents(), [`${adminA.name} (Admin)`, `${ownerA.name} (Owner)`])

  // Send an invitation from the first window.
  await sender.locator('#invite-email').fill('ana@example.com')
  await sender.locator('#invite-role').selectOption('teacher')
  await sender.getByRole('button', { name: 'Send invitation' }).click()
  await sender.locator('#invite-result', { hasText: 'Invitation sent to ana@example.com.' }).waitFor()

  // The second window shows it without a reload: activity, invitation, metrics.
  await feedEntry(watcher, 5).waitFor()
  t.equal(await feedEntry(watcher, 5).textContent(), 'Olivia Owner invited ana@example.com as teacher')
  await invitationRow(watcher, 'ana@example.com').locator('td', { hasText: 'pending' }).waitFor()
  t.same(await invitationRow(watcher, 'ana@example.com').locator('td').allTextContents().then((cells) => cells.slice(0, 3)), [
    'ana@example.com',
    'Teacher',
    'pending',
  ])
  await watcher.locator('[data-metric="pendingInvitations"]', { hasText: '1' }).waitFor()
  await watcher.screenshot({ path: screenshotPath('dashboard-live'), fullPage: true })
  // At 1280 px the invitations table fits its card: its last column is not cut off.
  const overflow = await watcher.evaluate(() => {
    const card = document.querySelector('section.invitations')!.getBoundingClientRect()
    const lastHeader = document.querySelector('#invitations thead th:last-child')!.getBoundingClientRect()
    return { cardRight: Math.round(card.right), lastColumnRight: Math.round(lastHeader.right) }
  })
  t.ok(overflow.lastColumnRight <= overflow.cardRight, `the last column ends inside the card (${JSON.stringify(overflow)})`)

  // The realtime service stops; an invitation is sent through the API while it is down; it comes back.
  await system.realtime.stop()
  await watcher.locator('#connection-state:not([data-state="connected"])').waitFor()
  t.match(await watcher.locator('#connection-state').getAttribute('data-state'), /^(reconnecting|offline)$/)
  const token = await system.login(ownerA)
  const whileDown = await system.request('POST', `/api/accounts/schools/${schoolA.id}/invitations/`, {
    token,
    body: { email: 'bob@example.com', role: 'student' },
  })
  t.equal(whileDown.status, 201)
  await system.restart('realtime')

  // Reconnected, it shows what it missed.
  await watcher.locator('#connection-state[data-state="connected"]').waitFor({ timeout: 20_000 })
  await feedEntry(watcher, 6).waitFor()
  t.equal(await feedEntry(watcher, 6).textContent(), 'Olivia Owner invited bob@example.com as student')
  await invitationRow(watcher, 'bob@example.com').locator('td', { hasText: 'pending' }).waitFor()
  await watcher.locator('[data-metric="pendingInvitations"]', { hasText: '2' }).waitFor()
  t.same(await watcher.locator('#feed li').evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-seq')))), [6, 5, 4, 3, 2, 1])
  t.equal(await watcher.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'never reloaded')
  // The sender caught up too.
  await sender.locator('[data-metric="pendingInvitations"]', { hasText: '2' }).waitFor()

  // Nothing of the session is in Web Storage: the access token is in memory, the refresh token in an
  // HttpOnly cookie that scripts cannot read.
  t.same(await watcher.evaluate(() => Object.keys(localStorage)), [])
  t.same(await watcher.evaluate(() => Object.keys(sessionStorage)), [])
  t.same(await watcher.evaluate(() => document.cookie), '', 'the refresh cookie is not readable by scripts')
  const cookie = (await watcherContext.cookies()).find((entry) => entry.name === 'sd_refresh')
  t.match(cookie, { path: '/api/auth', httpOnly: true, sameSite: 'Strict' })

  await watcher.screenshot({ path: screenshotPath('dashboard-after-restart'), fullPage: true })
  t.same(problems, [], 'no script errors or policy violations')
  // Before the system's teardown, so that no page is still talking to services being stopped.
  await watcherContext.close()
  await context.close()
  await browser.close()
})

t.test('with access tokens of a few seconds the page stays connected through renewals in band, then a sign-out in another tab ends it', { skip: missing ?? false }, async (t) => {
  const system = await startSystem(t, 'browser_sessions', { apiEnv: { ACCESS_TOKEN_TTL_S: '4' }, realtimeEnv: { TOKEN_EXPIRING_NOTICE_S: '2' } })
  const { schoolA, ownerA } = system.fixture
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(error.message))
  // What the page's live connection carries, seen from outside: how many WebSockets it opened and how many
  // renewals the server confirmed on them.
  let sockets = 0
  let renewals = 0
  const waiting: Array<{ count: number; resolve: () => void }> = []
  const renewed = (count: number) => (renewals >= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ count, resolve })))
  page.on('websocket', (socket) => {
    if (!socket.url().includes('/socket.io/')) return
    sockets += 1
    socket.on('framereceived', (frame) => {
      if (typeof frame.payload !== 'string' || !frame.payload.startsWith('42["token_refreshed"')) return
      renewals += 1
      for (const waiter of waiting.splice(0)) (renewals >= waiter.count ? waiter.resolve : () => waiting.push(waiter))()
    })
  })

  await openDashboard(page, system.origin, ownerA, schoolA.id)
  // The test's own requests: a token of an hour, not one of this system's 4-second ones, which could lapse
  // while the loop waits for a renewal.
  const token = system.signToken({ sub: String(ownerA.id), email: ownerA.email })
  let seq = 4
  // Three renewals at least, with an event between each: none may be missed.
  for (const target of [1, 2, 3]) {
    const { status } = await system.request('POST', `/api/accounts/schools/${schoolA.id}/students/`, { token, body: { name: `Student ${target}` } })
    t.equal(status, 201)
    seq += 1
    await feedEntry(page, seq).waitFor()
    await renewed(target)
  }
  t.ok(renewals >= 3, `${renewals} renewals in band`)
  t.equal(sockets, 1, 'one WebSocket all along: no reconnection')
  t.equal(await page.locator('#connection-state').getAttribute('data-state'), 'connected')
  t.same(await page.locator('#feed li').evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-seq')))), [7, 6, 5, 4, 3, 2, 1], 'every event, once')

  // Another tab of the same browser resumes the session from its cookie and signs out.
  const other = await context.newPage()
  await other.goto(`${system.origin}/dashboard/`)
  await other.getByRole('button', { name: 'Sign out' }).click()
  await other.locator('#sign-in').waitFor()
  // The first tab's connection is closed by the server (session_revoked) and it asks to sign in again.
  await page.locator('#sign-in').waitFor({ timeout: 5_000 })
  t.match(await page.locator('#page-error').textContent(), /Your session has ended/)
  t.equal(await page.locator('#connection-state').getAttribute('data-state'), 'idle')
  t.equal((await context.cookies()).find((entry) => entry.name === 'sd_refresh'), undefined, 'the cookie is gone')
  t.same(problems, [], 'no script errors')
  await context.close()
  await browser.close()
})
