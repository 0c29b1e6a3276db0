// Turn corking: the writes of one turn to one socket leave together, at the end of the turn, in one
// system call; the next turn starts uncorked.
import { once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import t from 'tap'
import { createTurnCorking } from '../../src/streams/turn-corking.js'

/** A connected pair of real TCP sockets on the loopback. */
async function socketPair(t: { teardown(fn: () => void | Promise<void>): void }): Promise<{ client: Socket; server: Socket }> {
  const listener = createServer()
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  const address = listener.address() as { port: number }
  const accepted = once(listener, 'connection') as Promise<[Socket]>
  const client = connect(address.port, '127.0.0.1')
  const [server] = await accepted
  t.teardown(async () => {
    client.destroy()
    server.destroy()
    await new Promise((resolve) => listener.close(resolve))
  })
  return { client, server }
}

/** Counts the socket's trips to the operating system (`_writev` batches, `_write` single chunks). */
function countWrites(socket: Socket): { writes: number } {
  const count = { writes: 0 }
  const internals = socket as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void }
  const write = internals._write.bind(socket)
  const writev = internals._writev.bind(socket)
  internals._write = (...args) => {
    count.writes++
    write(...args)
  }
  internals._writev = (...args) => {
    count.writes++
    writev(...args)
  }
  return count
}

t.test('three writes in one turn leave in one trip to the kernel, after the turn; the next turn is uncorked', async (t) => {
  const { client, server } = await socketPair(t)
  const corking = createTurnCorking()
  const count = countWrites(server)
  let received = ''
  client.setEncoding('utf8')
  client.on('data', (chunk: string) => (received += chunk))

  for (const message of ['one;', 'two;', 'three;']) {
    corking.hold(server)
    server.write(message)
  }
  t.equal(server.writableCorked, 1, 'held once, however many writes')
  t.equal(count.writes, 0, 'nothing written during the turn')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(server.writableCorked, 0, 'released at the end of the turn')
  t.equal(count.writes, 1, 'one writev for the three')
  while (received.length < 'one;two;three;'.length) await once(client, 'data')
  t.equal(received, 'one;two;three;', 'in order, complete')
})

t.test('sockets held in one turn are all released; a socket destroyed meanwhile does not throw', async (t) => {
  const first = await socketPair(t)
  const second = await socketPair(t)
  const corking = createTurnCorking()
  corking.hold(first.server)
  corking.hold(second.server)
  second.server.destroy()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(first.server.writableCorked, 0)
  t.equal(second.server.writableCorked, 0)
})
