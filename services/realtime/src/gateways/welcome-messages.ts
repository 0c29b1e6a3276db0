// The first message a dashboard client receives once accepted, identical on both transports: who it is
// connected as. The stream sends the snapshot (or the replay) right after.
import { envelope, type Envelope, type ServerMessages } from '@school/events'
import type { DashboardAccess } from './handshake.js'

export type Transport = ServerMessages['connection_established']['transport']

export function connectionEstablished(access: DashboardAccess, transport: Transport): Envelope<'connection_established'> {
  const { user, role, schoolId } = access
  return envelope('connection_established', {
    schoolId,
    user: { id: user.id, email: user.email, name: user.name, role },
    transport,
  })
}
