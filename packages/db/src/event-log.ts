// A school's event log and its way onto the queue, in one place: appending an event (the next sequence
// number and the row, in the caller's transaction), the payload of invitation events in TypeScript and in
// SQL from one definition, the school-events job made from a committed event, and the statement that
// marks events enqueued. The API, the outbox relay, the demo data and the test fixtures all go through
// here, so the log, its jobs and its outbox bookkeeping each have one shape.
import { randomUUID } from 'node:crypto'
import { SCHOOL_EVENT_JOB_OPTIONS, type InvitationEventPayload, type SchoolEventJob, type SchoolEventJobContent } from '@school/events'
import { Prisma, type Invitation } from './generated/prisma/client.js'

export type TransactionClient = Prisma.TransactionClient

/**
 * Takes the school's next sequence number. The `UPDATE ... RETURNING` row lock orders the log and
 * serializes the school's writers until the transaction ends. Null when the school does not exist.
 */
export async function takeNextSeq(tx: TransactionClient, schoolId: number): Promise<number | null> {
  const rows = await tx.$queryRaw<Array<{ last_event_seq: number }>>`
    UPDATE schools SET last_event_seq = last_event_seq + 1 WHERE id = ${schoolId} RETURNING last_event_seq`
  return rows[0]?.last_event_seq ?? null
}

export interface NewDomainEvent {
  schoolId: number
  seq: number
  type: string
  actorId: number | null
  payload: Prisma.InputJsonObject
  /** The request that caused it, when there is one. */
  correlationId?: string | null
}

export interface InsertedDomainEvent {
  id: string
  seq: number
  occurredAt: Date
  /** The rest of the event as the log's readers see it (the actor with its name): what its job carries. */
  content: SchoolEventJobContent
}

export async function insertDomainEvent(tx: TransactionClient, event: NewDomainEvent): Promise<InsertedDomainEvent> {
  // Every write of every school goes through here: one plain INSERT, no model query to plan; the actor's
  // name comes back with it for the job that carries the event.
  const rows = await tx.$queryRaw<Array<{ id: string; seq: number; occurred_at: Date; actor_name: string | null }>>`
    WITH inserted AS (
      INSERT INTO domain_events (id, school_id, seq, type, actor_id, payload, correlation_id)
      VALUES (${randomUUID()}::uuid, ${event.schoolId}, ${event.seq}, ${event.type}, ${event.actorId},
              ${JSON.stringify(event.payload)}::jsonb, ${event.correlationId ?? null})
      RETURNING id, seq, occurred_at, actor_id
    )
    SELECT inserted.id, inserted.seq, inserted.occurred_at, u.name AS actor_name
    FROM inserted LEFT JOIN users u ON u.id = inserted.actor_id`
  const row = rows[0]!
  const actor = event.actorId !== null && row.actor_name !== null ? { id: event.actorId, name: row.actor_name } : null
  const content = { actor, payload: event.payload, correlationId: event.correlationId ?? null }
  return { id: row.id, seq: row.seq, occurredAt: row.occurred_at, content }
}

/** Takes the next sequence number and inserts the event; throws if the school does not exist. */
export async function appendDomainEvent(
  tx: TransactionClient,
  event: Omit<NewDomainEvent, 'seq'>,
): Promise<InsertedDomainEvent> {
  const seq = await takeNextSeq(tx, event.schoolId)
  if (seq === null) throw new Error(`school ${event.schoolId} does not exist`)
  return insertDomainEvent(tx, { ...event, seq })
}

/**
 * Where each field of an invitation event's payload comes from: a field of the invitation, whose column
 * has the same name (single words, so the Prisma field and the SQL column agree). Both forms below are
 * made from this, and a test holds them equal for the same row.
 */
const INVITATION_PAYLOAD_SOURCES = {
  invitationId: 'id',
  email: 'email',
  role: 'role',
  status: 'status',
} as const satisfies { [K in keyof InvitationEventPayload]: keyof Invitation }

type InvitationPayloadSource = Pick<Invitation, (typeof INVITATION_PAYLOAD_SOURCES)[keyof typeof INVITATION_PAYLOAD_SOURCES]>

/** The payload of an invitation event (created, cancelled, expired, ...): the invitation as it now is. */
export function invitationEventPayload(invitation: InvitationPayloadSource): InvitationEventPayload {
  const payload: Record<string, unknown> = {}
  for (const [field, source] of Object.entries(INVITATION_PAYLOAD_SOURCES)) payload[field] = invitation[source]
  return payload as unknown as InvitationEventPayload
}

/**
 * The same payload built in SQL from the invitation row `alias` (for a statement that inserts the
 * invitation and its event together): `jsonb_build_object('invitationId', alias.id, ...)`.
 */
export function invitationEventPayloadSql(alias: string): Prisma.Sql {
  if (!/^[a-z_][a-z0-9_]*$/.test(alias)) throw new Error(`not a plain SQL alias: ${alias}`)
  const pairs = Object.entries(INVITATION_PAYLOAD_SOURCES).map(([field, column]) => `'${field}', ${alias}.${column}`)
  return Prisma.raw(`jsonb_build_object(${pairs.join(', ')})`)
}

/** What the job of a committed event is made from. */
export interface CommittedEvent {
  id: string
  schoolId: number
  seq: number
  type: string
  occurredAt: Date
  /** The rest of the event as committed, when the producer has it (the outbox relay does not). */
  content?: SchoolEventJobContent
}

export interface SchoolEventJobToAdd {
  name: string
  data: SchoolEventJob
  /** The producer's options; the job id is the event id, so enqueueing an event twice is a no-op. */
  opts: typeof SCHOOL_EVENT_JOB_OPTIONS & { jobId: string }
}

/** The school-events job of an event, as `queue.add(name, data, opts)` and `queue.addBulk` take it. */
export function schoolEventJob(event: CommittedEvent): SchoolEventJobToAdd {
  return {
    name: event.type,
    data: {
      eventId: event.id,
      schoolId: event.schoolId,
      seq: event.seq,
      type: event.type,
      occurredAt: event.occurredAt.toISOString(),
      ...(event.content && { event: event.content }),
    },
    opts: { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: event.id },
  }
}

/**
 * Records that these events are on the queue, in one statement (a client or a transaction); rows left
 * unmarked are what the outbox relay enqueues again. Resolves with the number of rows marked.
 */
export function markEnqueued(db: TransactionClient, eventIds: readonly string[]): Promise<number> {
  return db.$executeRaw`UPDATE domain_events SET enqueued_at = now() WHERE id = ANY(${eventIds}::uuid[])`
}
