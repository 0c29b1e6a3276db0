import t from 'tap'
import { buildTestApp } from '../helper.js'

t.test('draining: /readyz answers 503 draining while every other route still answers', async (t) => {
  const { app, fixture, authFor } = await buildTestApp(t)
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready', checks: { database: 'ok', redis: 'ok' } })
  app.startDraining()
  const readiness = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(readiness.statusCode, 503)
  t.same(readiness.json(), { status: 'draining', checks: {} })
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still live')
  const invited = await app.inject({
    method: 'POST',
    url: `/api/accounts/schools/${fixture.schoolA.id}/invitations/`,
    headers: authFor(fixture.ownerA),
    payload: { email: 'while-draining@example.com', role: 'teacher' },
  })
  t.equal(invited.statusCode, 201, 'requests are still served')
})

t.test("an event's write and enqueue stages are recorded once each", async (t) => {
  const { app, fixture, authFor } = await buildTestApp(t)
  const count = async (stage: string) => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    const line = text.split('\n').find((entry) => entry.startsWith('school_event_stage_seconds_count{') && entry.includes(`stage="${stage}"`))
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0
  }
  const before = { write: await count('write'), enqueue: await count('enqueue') }
  const invited = await app.inject({
    method: 'POST',
    url: `/api/accounts/schools/${fixture.schoolA.id}/invitations/`,
    headers: authFor(fixture.ownerA),
    payload: { email: 'staged@example.com', role: 'teacher' },
  })
  t.equal(invited.statusCode, 201)
  t.same({ write: (await count('write')) - before.write, enqueue: (await count('enqueue')) - before.enqueue }, { write: 1, enqueue: 1 })
})
