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

export const Dashboard = Type.Object(
  {
    school: Type.Object({ id: Id, name: Type.String() }),
    metrics: SchoolMetrics,
    /** Newest first. */
    recentActivity: Type.Array(Activity),
    /** Sequence of the last event the metrics and activity include; live messages with a higher seq are news. */
    lastEventSeq: Count,
  },
  {
    description: "The school's dashboard as of `lastEventSeq`",
    examples: [
      {
        school: { id: 1, name: 'Escola Demo' },
        metrics: {
          students: 12, teachers: 3, admins: 2, classes: 4, pendingInvitations: 1, acceptedInvitations: 5,
          declinedInvitations: 0, cancelledInvitations: 1, expiredInvitations: 0,
        },
        recentActivity: [
          {
            id: '0b6c3f1e-8a2d-4c1b-9f00-5e1d2c3b4a59',
            seq: 41,
            type: 'invitation.created',
            actor: { id: 1, name: 'Olivia Owner' },
            summary: 'Olivia Owner invited ana@example.com as teacher',
            occurredAt: '2026-11-24T14:03:12.301Z',
          },
        ],
        lastEventSeq: 41,
      },
    ],
  },
)
