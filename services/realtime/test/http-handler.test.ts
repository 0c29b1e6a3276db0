import t from 'tap'
import { createWorld } from './helper.js'

const world = await createWorld(t, 'rt_http')
const instance = await world.startInstance({ worker: false })

t.test('answers GET /healthz with status ok', async (t) => {
  const response = await fetch(`${instance.url}/healthz`)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^application\/json/)
  t.same(await response.json(), { status: 'ok' })
})

t.test('answers anything else with a JSON 404', async (t) => {
  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/ws/schools/1/dashboard/'],
    ['POST', '/healthz'],
  ] as const) {
    const response = await fetch(`${instance.url}${path}`, { method })
    t.equal(response.status, 404, `${method} ${path}`)
    t.same(await response.json(), { code: 'not_found', message: `Nothing is served at ${method} ${path}` }, `${method} ${path}`)
  }
})

t.test('leaves /socket.io/ to Socket.IO', async (t) => {
  const response = await fetch(`${instance.url}/socket.io/?EIO=4&transport=polling`)
  t.equal(response.status, 200)
  t.match(await response.text(), /^0\{"sid":/)
})
