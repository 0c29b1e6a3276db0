import t from 'tap'
import { Encoder } from 'socket.io-parser'
import * as ws from 'ws'
import { envelope } from '@school/events'
import { PreparedMessage } from '../../src/streams/prepared-message.js'

const message = { ...envelope('activity_new', { id: 'e1', summary: 'Ana "quoted" <b>é</b> \u2028', seq: 7 } as never), seq: 7 }

t.test('encodes the Socket.IO packet exactly as socket.io-parser does', async (t) => {
  const prepared = new PreparedMessage(message)
  const [encoded] = new Encoder().encode({ type: 2, nsp: '/', data: ['activity_new', message] })
  t.equal(prepared.socketIoPacket, encoded)
  t.equal(prepared.json, JSON.stringify(message))
  t.same(prepared.text, Buffer.from(JSON.stringify(message)))
})

t.test("the WebSocket frame is one final unmasked text frame carrying Engine.IO's message packet", async (t) => {
  const prepared = new PreparedMessage(message)
  // ws's frame parser (exported, but not declared by @types/ws), as a client reads server frames.
  const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => NodeJS.WritableStream & NodeJS.EventEmitter }
  const receiver = new Receiver({ isServer: false })
  const received = new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
    receiver.on('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })),
  )
  receiver.write(Buffer.concat(prepared.socketIoFrame))
  const { data, isBinary } = await received
  t.equal(isBinary, false)
  t.equal(data.toString(), `4${prepared.socketIoPacket}`)
})

t.test('each form is made once and then shared', async (t) => {
  const prepared = new PreparedMessage(message)
  t.equal(prepared.text, prepared.text, 'the same Buffer every time')
  t.equal(prepared.socketIoFrame, prepared.socketIoFrame)
})
