// The message contract: ids from paths, the room name, the WebSocket path and the envelope.
import t from 'tap'
import { DASHBOARD_WS_PATH, MAX_ID, dashboardRoom, envelope, isInvitationEvent, parseId, parseRevocationScope, queuePrefix, adapterChannelPrefix } from '../src/index.js'

t.test('parseId accepts plain decimals from 1 to 2^31-1', async (t) => {
  t.equal(parseId('1'), 1)
  t.equal(parseId('42'), 42)
  t.equal(parseId(String(MAX_ID)), MAX_ID)
})

t.test('parseId refuses anything else', async (t) => {
  for (const raw of ['', '0', '-1', '01', '1.5', '1e3', ' 1', 'abc', '0x10', String(MAX_ID + 1), '99999999999', '१२']) {
    t.equal(parseId(raw), null, JSON.stringify(raw))
  }
})

t.test('the dashboard path matches with and without a trailing slash', async (t) => {
  t.equal(DASHBOARD_WS_PATH.exec('/ws/schools/7/dashboard/')?.[1], '7')
  t.equal(DASHBOARD_WS_PATH.exec('/ws/schools/7/dashboard')?.[1], '7')
  t.equal(DASHBOARD_WS_PATH.exec('/ws/schools/7/dashboard/extra'), null)
  t.equal(DASHBOARD_WS_PATH.exec('/ws/schools//dashboard/'), null)
})

t.test('the envelope carries the event origin only when given', async (t) => {
  const bare = envelope('pong', null)
  t.same(Object.keys(bare).sort(), ['data', 'ts', 'type'])
  t.ok(!Number.isNaN(Date.parse(bare.ts)))
  const caused = envelope('pong', null, { eventId: 'e1', seq: 3 })
  t.equal(caused.eventId, 'e1')
  t.equal(caused.seq, 3)
})

t.test('names derived from the deployment prefix', async (t) => {
  t.equal(dashboardRoom(5), 'school_dashboard_5')
  t.equal(queuePrefix('sd'), 'sd:bull')
  t.equal(adapterChannelPrefix('sd'), 'sd:socket.io')
  t.equal(isInvitationEvent('invitation.accepted'), true)
  t.equal(isInvitationEvent('class.created'), false)
})

t.test('a revocation scope from another process is taken only when well-formed', async (t) => {
  const sessionId = '0b6c1c52-3e7e-4b5e-9d7a-2f1c3c4d5e6f'
  t.same(parseRevocationScope({ userId: 3 }), { userId: 3 })
  t.same(parseRevocationScope({ userId: 3, schoolId: 4 }), { userId: 3, schoolId: 4 })
  t.same(parseRevocationScope({ userId: 3, sessionId }), { userId: 3, sessionId })
  for (const raw of [null, 'x', {}, { userId: 0 }, { userId: '3' }, { userId: 3, schoolId: -1 }, { userId: 3, sessionId: 'nope' }, { userId: 3, schoolId: 4, sessionId }]) {
    t.equal(parseRevocationScope(raw), null, JSON.stringify(raw))
  }
})
