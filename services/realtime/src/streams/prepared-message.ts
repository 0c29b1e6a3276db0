// A broadcast message serialized at most once per instance, whatever the number of connections it goes
// to: the JSON text for plain WebSockets, and Socket.IO's encoded EVENT packet and WebSocket frame.
// Each form is made on first use, so a room with only one kind of client pays for that kind only.
import * as ws from 'ws'
import type { AnyEnvelope } from '@school/events'

/** `ws`'s frame builder: `Sender.frame`, exported by ws but not declared by @types/ws. */
type FrameBuilder = (data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }) => Buffer[]
const frame = (ws as unknown as { Sender: { frame: FrameBuilder } }).Sender.frame
/** WebSocket text frame. */
const TEXT_OPCODE = 1
/** Engine.IO's `message` packet type, which prefixes every Socket.IO packet on the wire. */
const ENGINE_IO_MESSAGE = '4'
/** Socket.IO's EVENT packet type, for the main namespace (no namespace prefix, no ack id). */
const SOCKET_IO_EVENT = '2'

export class PreparedMessage {
  #json: string | undefined
  #text: Buffer | undefined
  #socketIoPacket: string | undefined
  #socketIoFrame: Buffer[] | undefined

  constructor(
    readonly message: AnyEnvelope,
    /** Socket.IO's event name: the message type, as every emit here uses it. */
    readonly event: string = message.type,
  ) {}

  /** The envelope as JSON text: what a plain WebSocket client receives. */
  get json(): string {
    return (this.#json ??= JSON.stringify(this.message))
  }

  /** The JSON as bytes, so that `ws` does not encode the same string once per connection. */
  get text(): Buffer {
    return (this.#text ??= Buffer.from(this.json))
  }

  /** The Socket.IO packet `2["<event>",<envelope>]`, exactly what socket.io-parser would encode. */
  get socketIoPacket(): string {
    return (this.#socketIoPacket ??= `${SOCKET_IO_EVENT}[${JSON.stringify(this.event)},${this.json}]`)
  }

  /** The whole WebSocket frame carrying that packet, which engine.io sends as is (as Socket.IO's own broadcasts do). */
  get socketIoFrame(): Buffer[] {
    return (this.#socketIoFrame ??= frame(Buffer.from(ENGINE_IO_MESSAGE + this.socketIoPacket), {
      readOnly: false,
      mask: false,
      rsv1: false,
      opcode: TEXT_OPCODE,
      fin: true,
    }))
  }
}
