// Appending to a school's event log: the next sequence number and the row, in the caller's transaction.
// The API, the demo data and the test fixture all append through here, so the log has one shape.
import { randomUUID } from 'node:crypto'
import type { Prisma } from './generated/prisma/client.js'

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
}

export async function insertDomainEvent(tx: TransactionClient, event: NewDomainEvent): Promise<InsertedDomainEvent> {
  // Every write of every school goes through here: one plain INSERT, no model query to plan.
  const rows = await tx.$queryRaw<Array<{ id: string; seq: number; occurred_at: Date }>>`
    INSERT INTO domain_events (id, school_id, seq, type, actor_id, payload, correlation_id)
    VALUES (${randomUUID()}::uuid, ${event.schoolId}, ${event.seq}, ${event.type}, ${event.actorId},
            ${JSON.stringify(event.payload)}::jsonb, ${event.correlationId ?? null})
    RETURNING id, seq, occurred_at`
  const row = rows[0]!
  return { id: row.id, seq: row.seq, occurredAt: row.occurred_at }
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
