// Reads the per-school event log.
import type { PrismaClient, DomainEventRow, TransactionClient } from '@school/db'
import { DOMAIN_EVENT_TYPES, type Activity, type DomainEvent } from '@school/events'
import { toActivity } from './activity.js'
import { isApplicable } from './metrics-deltas.js'

export type EventRowWithActor = DomainEventRow & { actor: { id: number; name: string } | null }

export const withActor = { actor: { select: { id: true, name: true } } } as const

export function toDomainEvent(row: EventRowWithActor): DomainEvent {
  if (!(DOMAIN_EVENT_TYPES as readonly string[]).includes(row.type)) {
    throw new Error(`event ${row.id} has unknown type ${row.type}`)
  }
  return {
    id: row.id,
    schoolId: row.schoolId,
    seq: row.seq,
    type: row.type as DomainEvent['type'],
    actor: row.actor,
    payload: row.payload as unknown as DomainEvent['payload'],
    occurredAt: row.occurredAt,
    correlationId: row.correlationId,
  }
}

/** The latest entries of the feed, newest first. */
export async function recentActivity(prisma: TransactionClient, schoolId: number, limit: number): Promise<Activity[]> {
  if (limit <= 0) return []
  const rows = await prisma.domainEvent.findMany({
    where: { schoolId },
    orderBy: { seq: 'desc' },
    take: limit,
    include: withActor,
  })
  return rows.map((row) => toActivity(toDomainEvent(row)))
}

export interface LogSlice {
  /** The events after `since`, in order; rows that are not valid events (dead letters) are left out. */
  events: DomainEvent[]
  /** Sequence of the last row read, valid or not; `since` when there was none. */
  lastSeq: number
}

/** Up to `limit` entries of the log after `since`, for a client that resumes or missed a broadcast. */
export async function eventsSince(prisma: PrismaClient, schoolId: number, since: number, limit: number): Promise<LogSlice> {
  const rows = await prisma.domainEvent.findMany({
    where: { schoolId, seq: { gt: since } },
    orderBy: { seq: 'asc' },
    take: limit,
    include: withActor,
  })
  const events: DomainEvent[] = []
  for (const row of rows) {
    let event: DomainEvent
    try {
      event = toDomainEvent(row)
    } catch {
      continue
    }
    // A dead letter: the worker skipped it too, so clients never see it.
    if (isApplicable(event)) events.push(event)
  }
  return { events, lastSeq: rows.at(-1)?.seq ?? since }
}
