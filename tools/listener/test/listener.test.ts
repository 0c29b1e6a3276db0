// The listener against the running system (API, realtime and the one-origin proxy as processes): it prints
// a scripted scenario as it happens, resumes after a realtime restart without a gap, and exits 0 on SIGINT.
import t, { type Test } from 'tap'
import { startSystem, type RunningSystem } from '@school/test-support/system'
import { startListener, type ListenerProcess } from './listener-process.js'

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

/** Activity lines the listener printed, as `#seq summary`. */
function activityLines(listener: ListenerProcess): string[] {
  return listener.messages().filter((line) => line.type === 'activity_new').map((line) => line.summary)
}

/** The school's feed as the API has it, oldest first, as the listener prints it. */
async function feedFromApi(system: RunningSystem, token: string, after: number): Promise<string[]> {
  const { body } = await system.request('GET', `/api/accounts/schools/${system.fixture.schoolA.id}/dashboard/`, { token })
  return (body.recentActivity as Array<{ seq: number; summary: string }>)
    .filter((activity) => activity.seq > after)
    .reverse()
    .map((activity) => `#${activity.seq} ${activity.summary}`)
}

async function stopWithSigint(t: Test, listener: ListenerProcess): Promise<void> {
  listener.child.kill('SIGINT')
  t.equal(await listener.exited, 0, 'exits with 0 on SIGINT')
  t.match(listener.stderr.all.at(-1) ?? '', /-- SIGINT: stopping$/)
}

for (const transport of ['websocket', 'socket.io'] as const) {
  t.test(`prints a scripted scenario over ${transport} and resumes after a realtime restart`, async (t) => {
    const system = await startSystem(t, 'listener')
    const { schoolA, ownerA } = system.fixture
    const token = await system.login(ownerA)
    const schoolPath = `/api/accounts/schools/${schoolA.id}`
    const listener = startListener(
      ['--origin', system.origin, '--school', String(schoolA.id), '--email', ownerA.email, '--password', ownerA.password,
        ...(transport === 'socket.io' ? ['--transport', 'socket.io'] : [])],
      (fn) => t.teardown(fn),
    )

    // Connected: who, then the snapshot. The fixture's four members are events #1 to #4.
    const established = await listener.waitForMessage('connection_established', `school ${schoolA.id}`)
    t.equal(established.summary, `school ${schoolA.id} as ${ownerA.email} (school_owner) over ${transport}`)
    t.match(established.at, TIME)
    const snapshot = await listener.waitForMessage('metrics_update', /^@4 /)
    t.equal(
      snapshot.summary,
      '@4 students 1, teachers 1, admins 2, classes 0; invitations pending 0, accepted 0, declined 0, cancelled 0, expired 0',
    )
    t.match(listener.stderr.all.join('\n'), `-- signed in as ${ownerA.email}`)

    // The scenario, through the API.
    const invited = await system.request('POST', `${schoolPath}/invitations/`, { token, body: { email: 'ana@example.com', role: 'teacher' } })
    t.equal(invited.status, 201)
    t.equal(
      (await listener.waitForMessage('invitation_status_update', '#5 ')).summary,
      `#5 invitation ${invited.body.id} for ana@example.com (teacher) is pending`,
    )
    t.equal((await listener.waitForMessage('activity_new', '#5 ')).summary, '#5 Olivia Owner invited ana@example.com as teacher')
    t.equal((await system.request('POST', `${schoolPath}/students/`, { token, body: { name: 'Rita Reader' } })).status, 201)
    t.equal((await listener.waitForMessage('activity_new', '#6 ')).summary, '#6 Olivia Owner registered student Rita Reader')
    t.equal((await system.request('POST', `${schoolPath}/classes/`, { token, body: { name: '7B Mathematics' } })).status, 201)
    t.equal((await listener.waitForMessage('activity_new', '#7 ')).summary, '#7 Olivia Owner created class 7B Mathematics')
    await listener.waitForMessage(
      'metrics_update',
      '@7 students 2, teachers 1, admins 2, classes 1; invitations pending 1, accepted 0, declined 0, cancelled 0, expired 0',
    )

    // The realtime service goes away; an invitation is sent while it is down; it comes back.
    const printedBeforeRestart = listener.stdout.all.length
    await system.realtime.stop()
    await listener.waitForStatus(/reconnecting in \d+ ms, resuming after #7$/)
    const whileDown = await system.request('POST', `${schoolPath}/invitations/`, { token, body: { email: 'bob@example.com', role: 'student' } })
    t.equal(whileDown.status, 201)
    await system.restart('realtime')

    // Back: the missed event replayed, a fresh snapshot, then live again.
    await listener.waitForMessage('connection_established', `school ${schoolA.id}`, printedBeforeRestart, 30_000)
    t.equal(
      (await listener.waitForMessage('invitation_status_update', '#8 ', printedBeforeRestart)).summary,
      `#8 invitation ${whileDown.body.id} for bob@example.com (student) is pending`,
    )
    t.equal((await listener.waitForMessage('activity_new', '#8 ', printedBeforeRestart)).summary, '#8 Olivia Owner invited bob@example.com as student')
    await listener.waitForMessage('metrics_update', /^@8 .*pending 2,/, printedBeforeRestart)
    t.match(listener.stderr.all.join('\n'), transport === 'websocket' ? /connecting to ws:\S+\?since=7/ : /connecting to \S+ \(school \d+, since 7\)/)
    t.equal((await system.request('POST', `${schoolPath}/students/`, { token, body: { name: 'Carl Counter' } })).status, 201)
    await listener.waitForMessage('activity_new', '#9 ', printedBeforeRestart)

    // Every event exactly once, in order, as the API's feed has them.
    t.same(activityLines(listener), await feedFromApi(system, token, 4))
    t.same(
      activityLines(listener).map((line) => Number(/^#(\d+)/.exec(line)?.[1])),
      [5, 6, 7, 8, 9],
    )
    t.notMatch(listener.stderr.all.join('\n'), /gap:|seen already/)
    // After the restart: connection_established, the replay (#8 twice: status and activity), the snapshot.
    // (Who is watching, presence_update, may come in between: it is not part of the event stream.)
    t.same(
      listener
        .messages()
        .slice(printedBeforeRestart)
        .filter((line) => line.type !== 'presence_update')
        .slice(0, 4)
        .map((line) => line.type),
      ['connection_established', 'invitation_status_update', 'activity_new', 'metrics_update'],
    )
    t.match(
      listener.messages().find((line) => line.type === 'presence_update')?.summary,
      /^watching: /,
      `who is watching is shown over ${transport} too`,
    )

    await stopWithSigint(t, listener)
  })
}

t.test('gives up with exit code 1 when the credentials are wrong or the school is not theirs', async (t) => {
  const system = await startSystem(t, 'listener-refused')
  const { schoolA, schoolB, ownerA } = system.fixture
  const wrongPassword = startListener(
    ['--origin', system.origin, '--school', String(schoolA.id), '--email', ownerA.email, '--password', 'not-the-password'],
    (fn) => t.teardown(fn),
  )
  t.equal(await wrongPassword.exited, 1)
  t.match(wrongPassword.stderr.all.join('\n'), /sign-in failed with 401: /)

  const token = await system.login(ownerA)
  const otherSchool = startListener(['--origin', system.origin, '--school', String(schoolB.id), '--token', token], (fn) => t.teardown(fn))
  t.equal(await otherSchool.exited, 1)
  t.match(otherSchool.stderr.all.join('\n'), /refused \(403 forbidden\): refused: 403 forbidden: .*; giving up/)
  t.same(otherSchool.stdout.all, [])
})

t.test('explains its usage and exits 2 on bad arguments', async (t) => {
  const listener = startListener(['--school', 'one', '--token', 'x'], (fn) => t.teardown(fn))
  t.equal(await listener.exited, 2)
  t.match(listener.stderr.all.join('\n'), /listen: --school must be an integer from 1, not "one"[\s\S]*Usage: npm run listen/)
})

t.test('renews its access token in band with the refresh token and stays on one connection', async (t) => {
  const system = await startSystem(t, 'listener-renewal', { apiEnv: { ACCESS_TOKEN_TTL_S: '4' }, realtimeEnv: { TOKEN_EXPIRING_NOTICE_S: '2' } })
  const { schoolA, ownerA } = system.fixture
  const listener = startListener(
    ['--origin', system.origin, '--school', String(schoolA.id), '--email', ownerA.email, '--password', ownerA.password],
    (fn) => t.teardown(fn),
  )
  await listener.waitForMessage('connection_established', `school ${schoolA.id}`)
  // Two renewals: each token lives 4 s, so the connection outlives two of them.
  const first = listener.messages().length
  await listener.waitForMessage('token_refreshed', 'renewed: ', first, 15_000)
  const second = listener.messages().length
  await listener.waitForMessage('token_refreshed', 'renewed: ', second, 15_000)
  const token = await system.login(ownerA)
  t.equal((await system.request('POST', `/api/accounts/schools/${schoolA.id}/students/`, { token, body: { name: 'Renewed Reader' } })).status, 201)
  t.equal((await listener.waitForMessage('activity_new', '#5 ')).summary, '#5 Olivia Owner registered student Renewed Reader')
  t.equal(listener.messages().filter((line) => line.type === 'connection_established').length, 1, 'never reconnected')
  t.notMatch(listener.stderr.all.join('\n'), /reconnecting/)
  await stopWithSigint(t, listener)
})
