// A TCP pass-through a test can cut and restore, to make PostgreSQL or Redis unreachable for one service
// without stopping the shared server other tests use.
import { once } from 'node:events'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'

export interface TcpProxy {
  /** 127.0.0.1:port the service should connect to. */
  readonly port: number
  /** Refuses new connections and resets the open ones, as a dead server would. */
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let down = false
  const server = createServer((client) => {
    if (down) return void client.destroy()
    const upstream = connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const cutAll = () => {
    for (const socket of sockets) socket.resetAndDestroy()
    sockets.clear()
  }
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      down = true
      cutAll()
    },
    restore() {
      down = false
    },
    async close() {
      cutAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The same URL with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: Pick<TcpProxy, 'port'>): string {
  const next = new URL(url)
  next.hostname = '127.0.0.1'
  next.port = String(proxy.port)
  return next.toString()
}
