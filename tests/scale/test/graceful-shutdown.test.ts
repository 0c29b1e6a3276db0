// SIGTERM under load, behind haproxy: an API instance finishes its in-flight requests and enqueues, a
// realtime instance tells its clients to reconnect (close 1012 / transport close); no request fails, no
// event is lost, and the clients resume elsewhere with `since` and end with the complete ordered feed.
import t from 'tap'
import type { AnyEnvelope, DashboardTransport } from '@school/events'
import { PlainClient, SocketIoClient } from '@school/test-support/system'
import { startScaledSystem, waitUntil } from './scaled-system.js'
import { eventLog } from './school-actions.js'

const system = await startScaledSystem(t, { label: 'scale_shutdown', apis: 2, realtimes: 2, loadBalancer: true })
const { fixture } = system
const schoolId = fixture.schoolA.id
const token = await system.login(fixture.ownerA)

/**
 * A dashboard that stays open: whenever its connection ends it reconnects through the balancer with
 * `since` = the last event it has, and keeps every message of every connection in one list.
 */
class DurableDashboard {
  readonly messages: AnyEnvelope[] = []
  readonly closeCodes: Array<number | string> = []
  connections = 0
  #closed = false
  #current: PlainClient | SocketIoClient | null = null

  constructor(readonly transport: DashboardTransport) {}

  get lastSeq(): number {
    return this.messages.filter((m) => m.type === 'activity_new').at(-1)?.seq ?? 0
  }

  async open(since?: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const resume = since === undefined ? {} : { since }
        const client =
          this.transport === 'websocket'
            ? await PlainClient.connect(system.origin, schoolId, token, 'header', resume)
            : await SocketIoClient.connect(system.origin, schoolId, token, 'websocket', resume)
        this.#current = client
        this.connections += 1
        const seen = client.inbox.messages.length
        // Messages of this connection, as they come, into the one list.
        // presence_update follows connections, not events; this test is about the feed.
        const forward = (message: AnyEnvelope) => void (message.type !== 'presence_update' && this.messages.push(message))
        client.inbox.messages.slice(0, seen).forEach(forward)
        const push = client.inbox.push.bind(client.inbox)
        client.inbox.push = (message) => {
          push(message)
          forward(message)
        }
        const ended =
          client instanceof PlainClient
            ? new Promise<number | string>((resolve) => client.socket.once('close', (code) => resolve(code)))
            : new Promise<number | string>((resolve) => client.socket.once('disconnect', (reason) => resolve(reason)))
        void ended.then((code) => {
          this.closeCodes.push(code)
          if (!this.#closed) void this.open(this.lastSeq)
        })
        return
      } catch (error) {
        // The instance going away refuses new upgrades (503) until the balancer marks it down.
        if (attempt > 50) throw error
        await new Promise((resolve) => setTimeout(resolve, 50 * Math.min(attempt + 1, 10)))
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#current?.close()
  }
}

t.test('SIGTERM of an API and then of a realtime instance under load: nothing fails, nothing is lost', async (t) => {
  const baseline = (await eventLog(system.prisma, schoolId)).lastSeq
  const dashboards = [new DurableDashboard('websocket'), new DurableDashboard('socket.io'), new DurableDashboard('websocket'), new DurableDashboard('socket.io')]
  for (const dashboard of dashboards) {
    await dashboard.open()
    t.teardown(() => dashboard.close())
  }
  await waitUntil(() => dashboards.every((d) => d.messages.some((m) => m.type === 'metrics_update')), 'every dashboard has its snapshot')

  const TOTAL = 40
  const statuses: number[] = []
  let next = 0
  const stops: Array<Promise<unknown>> = []
  // Four requests in flight at any time; the two instances are stopped while they keep coming.
  const worker = async () => {
    while (next < TOTAL) {
      const n = next++
      if (n === 10) stops.push(system.apis[0]!.stop('SIGTERM').then((code) => t.equal(code, 0, 'the API instance exited cleanly')))
      if (n === 25) stops.push(system.realtimes[0]!.stop('SIGTERM').then((code) => t.equal(code, 0, 'the realtime instance exited cleanly')))
      const { status } = await system.request('POST', `/api/accounts/schools/${schoolId}/invitations/`, {
        token,
        body: { email: `drain-${n}@example.com`, role: 'teacher' },
      })
      statuses.push(status)
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  await Promise.all(stops)
  t.same(
    statuses.filter((status) => status !== 201),
    [],
    `all ${TOTAL} requests answered 201 while instances shut down`,
  )

  const log = await eventLog(system.prisma, schoolId, baseline)
  t.equal(log.ids.length, TOTAL, 'one event per request in the log')
  await waitUntil(
    () => dashboards.every((d) => d.lastSeq === log.lastSeq && d.messages.at(-1)?.type === 'metrics_update' && d.messages.at(-1)?.seq === log.lastSeq),
    'every dashboard caught up with the last event and its counters',
    30_000,
  )
  for (const [i, dashboard] of dashboards.entries()) {
    const activity = dashboard.messages.filter((m) => m.type === 'activity_new' && m.seq! > baseline)
    t.same(activity.map((m) => m.eventId), log.ids, `dashboard ${i} (${dashboard.transport}): every event once, in order, across ${dashboard.connections} connections`)
  }
  const moved = dashboards.filter((d) => d.connections > 1)
  t.ok(moved.length > 0, `${moved.length} dashboards were on the stopped instance and resumed elsewhere`)
  for (const dashboard of moved) {
    t.ok(
      dashboard.closeCodes.some((code) => code === 1012 || code === 'transport close'),
      `${dashboard.transport}: told to reconnect (${dashboard.closeCodes.join(', ')})`,
    )
  }
  const pendingInvitations = await system.prisma.invitation.count({ where: { schoolId, status: 'pending' } })
  for (const dashboard of dashboards) {
    t.match(dashboard.messages.at(-1)?.data, { pendingInvitations }, `${dashboard.transport}: counters equal the database`)
  }
})
