// The single way messages reach dashboards: one Socket.IO emit per message to the school's room. The
// Redis adapter carries it to every instance, and the adapter bridge hands it to plain WebSocket
// members there, so both transports see exactly the same envelopes in the same order.
import { dashboardRoom, type AnyEnvelope } from '@school/events'
import type { DashboardServer } from './socket-io-types.js'

export interface Broadcaster {
  publish(schoolId: number, messages: readonly AnyEnvelope[]): void
}

type Emit = (type: string, message: AnyEnvelope) => boolean

export function createBroadcaster(io: DashboardServer, onEmit: (type: string) => void = () => {}): Broadcaster {
  return {
    publish(schoolId, messages) {
      const room = io.to(dashboardRoom(schoolId))
      // The union of envelopes does not narrow against the typed event map; each type maps to its own envelope.
      const emit = room.emit.bind(room) as Emit
      for (const message of messages) {
        emit(message.type, message)
        onEmit(message.type)
      }
    },
  }
}
