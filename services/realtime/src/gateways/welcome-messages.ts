// What a dashboard client receives right after it is accepted, identical on both transports: who it
// is connected as, then a snapshot of the school's counters.
import type { PrismaClient } from '@school/db'
import { readSchoolMetrics } from '@school/dashboard'
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

/**
 * The current counters with `seq` = the school's last event. The sequence is read first: the counters
 * are then at least as new as it, so a client that drops event messages with `seq <= snapshot.seq`
 * never keeps counters older than the snapshot claims.
 */
export async function metricsSnapshot(prisma: PrismaClient, schoolId: number): Promise<Envelope<'metrics_update'>> {
  const school = await prisma.school.findUnique({ where: { id: schoolId }, select: { lastEventSeq: true } })
  const metrics = await readSchoolMetrics(prisma, schoolId)
  return envelope('metrics_update', metrics, { seq: school?.lastEventSeq ?? 0 })
}
