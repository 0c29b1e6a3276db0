// The dashboard's first render: the same metrics and activity entries the realtime service sends live.
import { Type } from 'typebox'
import { DOMAIN_EVENT_TYPES } from '@school/events'
import { Id, Timestamp } from './common.js'

const Count = Type.Integer({ minimum: 0 })

export const SchoolMetrics = Type.Object({
  students: Count,
  teachers: Count,
  admins: Count,
  classes: Count,
  pendingInvitations: Count,
  acceptedInvitations: Count,
  declinedInvitations: Count,
  cancelledInvitations: Count,
  expiredInvitations: Count,
})

export const Activity = Type.Object({
  id: Type.String({ format: 'uuid' }),
  seq: Type.Integer({ minimum: 1 }),
  type: Type.Enum([...DOMAIN_EVENT_TYPES]),
  actor: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  summary: Type.String(),
  occurredAt: Timestamp,
})

export const Dashboard = Type.Object({
  school: Type.Object({ id: Id, name: Type.String() }),
  metrics: SchoolMetrics,
  /** Newest first. */
  recentActivity: Type.Array(Activity),
  /** Sequence of the last event the metrics and activity include; live messages with a higher seq are news. */
  lastEventSeq: Count,
})
