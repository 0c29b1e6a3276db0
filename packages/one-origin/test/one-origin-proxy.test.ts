import t from 'tap'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createOneOriginProxy } from '../src/index.js'

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('the one-origin proxy survives a WebSocket client that resets its connection', async (t) => {
  const realtime = createServer((_req, res) => res.end('realtime'))
  const tunnels: Duplex[] = []
  realtime.on('upgrade', (_req, socket: Duplex) => {
    tunnels.push(socket)
    socket.on('error', () => socket.destroy())
    socket.on('end', () => socket.end())
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  })
  const upstreams = { api: 'http://127.0.0.1:9', realtime: await listen(realtime) }
  const proxy = createOneOriginProxy(upstreams)
  const origin = await listen(proxy)
  t.teardown(() => {
    for (const tunnel of tunnels) tunnel.destroy()
    for (const server of [realtime, proxy]) {
      server.closeAllConnections()
      server.close()
    }
  })
  const client = connect(Number(new URL(origin).port), '127.0.0.1')
  client.write('GET /ws/schools/1/dashboard/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  const [response] = (await once(client, 'data')) as [Buffer]
  t.match(response.toString(), /^HTTP\/1\.1 101 /)
  // A TCP reset, as when a browser is killed: before the fix this threw ECONNRESET out of the proxy.
  client.resetAndDestroy()
  // The proxy has handled the reset once it has closed its tunnel to the service.
  await once(tunnels[0]!, 'close')
  t.equal(await (await fetch(`${origin}/socket.io/?EIO=4`)).text(), 'realtime', 'the proxy still serves')
})

t.test('the one-origin proxy routes by path and says when nothing is there', async (t) => {
  const api = createServer((req, res) => res.end(`api ${req.url}`))
  const realtime = createServer((req, res) => res.end(`realtime ${req.url}`))
  const upstreams = { api: await listen(api), realtime: await listen(realtime) }
  const proxy = createOneOriginProxy(upstreams)
  const origin = await listen(proxy)
  t.teardown(() => {
    for (const server of [api, realtime, proxy]) {
      server.closeAllConnections()
      server.close()
    }
  })
  t.equal(await (await fetch(`${origin}/api/auth/login`)).text(), 'api /api/auth/login')
  t.equal(await (await fetch(`${origin}/socket.io/?EIO=4`)).text(), 'realtime /socket.io/?EIO=4')
  t.equal(await (await fetch(`${origin}/ws/schools/1/dashboard/`)).text(), 'realtime /ws/schools/1/dashboard/')
  t.equal(await (await fetch(`${origin}/dashboard/`)).text(), 'api /dashboard/')
  t.equal(await (await fetch(`${origin}/dashboard/app.js`)).text(), 'api /dashboard/app.js')
  t.equal(await (await fetch(`${origin}/dashboard`)).text(), 'api /dashboard')
  t.equal((await fetch(`${origin}/dashboards`)).status, 404)
  const missing = await fetch(`${origin}/elsewhere`)
  t.equal(missing.status, 404)
  t.equal(((await missing.json()) as { code: string }).code, 'not_found')

  api.closeAllConnections()
  api.close()
  await once(api, 'close')
  const down = await fetch(`${origin}/api/auth/login`)
  t.equal(down.status, 502)
  t.equal(((await down.json()) as { code: string }).code, 'bad_gateway')
})

t.test('the one-origin proxy tells the services who the client is: X-Forwarded-For, appended, on requests and upgrades', async (t) => {
  const seen: Array<string | undefined> = []
  const api = createServer((req, res) => res.end(req.headers['x-forwarded-for'] ?? ''))
  const realtime = createServer((_req, res) => res.end())
  realtime.on('upgrade', (req, socket: Duplex) => {
    seen.push(req.headers['x-forwarded-for'] as string | undefined)
    socket.on('error', () => socket.destroy())
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  })
  const proxy = createOneOriginProxy({ api: await listen(api), realtime: await listen(realtime) })
  const origin = await listen(proxy)
  t.teardown(() => {
    for (const server of [api, realtime, proxy]) {
      server.closeAllConnections()
      server.close()
    }
  })
  const port = Number(new URL(origin).port)
  /** One raw HTTP/1.1 exchange from a chosen loopback address; resolves with the response text. */
  const exchange = async (localAddress: string, request: string) => {
    const client = connect({ port, host: '127.0.0.1', localAddress })
    client.write(request)
    let text = ''
    for await (const chunk of client) text += String(chunk)
    return text
  }
  const get = (localAddress: string, forwarded?: string) =>
    exchange(localAddress, `GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${forwarded ? `X-Forwarded-For: ${forwarded}\r\n` : ''}\r\n`)
  t.match(await get('127.0.0.2'), /\r\n\r\n127\.0\.0\.2$/, 'the address the proxy saw')
  t.match(await get('127.0.0.3', '198.51.100.1'), /\r\n\r\n198\.51\.100\.1,127\.0\.0\.3$/, 'appended to what the client claimed')
  await exchange('127.0.0.4', 'GET /ws/schools/1/dashboard/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  t.same(seen, ['127.0.0.4'], 'and on a WebSocket upgrade')
})
