// A broadcast message serialized at most once per instance, whatever the number of connections it goes
// to: the JSON text for plain WebSockets, and Socket.IO's encoded EVENT packet and WebSocket frame.
// Each form is made on first use, so a room with only one kind of client pays for that kind only.
// The Socket.IO forms lean on library internals, which live in ../library-internals.ts.
import type { AnyEnvelope } from '@school/events'
import { ENGINE_IO_MESSAGE, socketIoEventPacket, textFrame, type PreEncoded } from '../library-internals.js'

export class PreparedMessage implements PreEncoded {
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
    return (this.#socketIoPacket ??= socketIoEventPacket(this.event, this.json))
  }

  /** The whole WebSocket frame carrying that packet, which engine.io sends as is (as Socket.IO's own broadcasts do). */
  get socketIoFrame(): Buffer[] {
    return (this.#socketIoFrame ??= textFrame(Buffer.from(ENGINE_IO_MESSAGE + this.socketIoPacket)))
  }
}
