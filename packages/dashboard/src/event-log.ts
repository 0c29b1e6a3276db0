// Reads the per-school event log.
import type { PrismaClient, DomainEventRow, TransactionClient } from '@school/db'
import { DOMAIN_EVENT_TYPES, type Activity, type DomainEvent, type SchoolEventJob } from '@school/events'
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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * The event a job carries, as the log's row it copies; null when the job carries none or what it carries
 * is not shaped like an event (the caller then reads the log). Whether the event can be applied is the
 * fold's to decide, as for a row read from the log.
 */
export function eventRowOfJob(job: SchoolEventJob): EventRowWithActor | null {
  const content: unknown = job.event
  if (!isObject(content) || !isObject(content.payload)) return null
  const { actor, correlationId } = content
  if (actor !== null && !(isObject(actor) && Number.isSafeInteger(actor.id) && typeof actor.name === 'string')) return null
  if (correlationId !== null && typeof correlationId !== 'string') return null
  const occurredAt = new Date(job.occurredAt)
  if (Number.isNaN(occurredAt.getTime())) return null
  const eventActor = actor === null ? null : { id: actor.id as number, name: actor.name as string }
  return {
    id: job.eventId,
    schoolId: job.schoolId,
    seq: job.seq,
    type: job.type,
    actorId: eventActor?.id ?? null,
    payload: content.payload as EventRowWithActor['payload'],
    occurredAt,
    enqueuedAt: null,
    correlationId,
    actor: eventActor,
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
