// The first message a dashboard client receives once accepted, identical on both transports: who it is
// connected as. The stream sends the snapshot (or the replay) right after.
import { envelope, type DashboardTransport, type Envelope } from '@school/events'
import type { DashboardAccess } from './handshake.js'

export function connectionEstablished(access: DashboardAccess, transport: DashboardTransport): Envelope<'connection_established'> {
  const { user, role, schoolId } = access
  return envelope('connection_established', {
    schoolId,
    user: { id: user.id, email: user.email, name: user.name, role },
    transport,
  })
}
