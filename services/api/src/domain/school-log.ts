// A school's event log as seen from inside one transaction. Every append takes the next seq with
// `UPDATE schools SET last_event_seq = last_event_seq + 1 ... RETURNING`, whose row lock orders the log
// and serializes the school's writes until the transaction ends.
import { insertDomainEvent, takeNextSeq, type CommittedEvent, type Prisma } from '@school/db'
import type { DomainEventPayloads, DomainEventType, SchoolEventJobContent } from '@school/events'

export type Tx = Prisma.TransactionClient

/** What the publisher needs of an event once its transaction has committed: all of it, for its job. */
export interface AppendedEvent extends CommittedEvent {
  type: DomainEventType
  content: SchoolEventJobContent
}

export class SchoolLog {
  readonly appended: AppendedEvent[] = []
  #reservedSeq: number | null

  private constructor(
    private readonly tx: Tx,
    readonly schoolId: number,
    reservedSeq: number,
    private readonly correlationId: string | null,
  ) {
    this.#reservedSeq = reservedSeq
  }

  /**
   * Takes the seq of the first event right away: the row lock it holds makes every check the change
   * does afterwards (duplicates, membership) race-free. Null when the school does not exist.
   */
  static async open(tx: Tx, schoolId: number, correlationId: string | null = null): Promise<SchoolLog | null> {
    const seq = await takeNextSeq(tx, schoolId)
    return seq === null ? null : new SchoolLog(tx, schoolId, seq, correlationId)
  }

  /** True while the seq taken at open is unused: committing then would leave a gap in the log. */
  get hasUnusedSeq(): boolean {
    return this.#reservedSeq !== null
  }

  async append<T extends DomainEventType>(type: T, actorId: number | null, payload: DomainEventPayloads[T]): Promise<AppendedEvent> {
    let seq = this.#reservedSeq
    this.#reservedSeq = null
    seq ??= await takeNextSeq(this.tx, this.schoolId)
    if (seq === null) throw new Error(`school ${this.schoolId} disappeared while its row was locked`)
    const row = await insertDomainEvent(this.tx, {
      schoolId: this.schoolId,
      seq,
      type,
      actorId,
      payload: payload as unknown as Prisma.InputJsonObject,
      correlationId: this.correlationId,
    })
    const event: AppendedEvent = { id: row.id, schoolId: this.schoolId, seq: row.seq, type, occurredAt: row.occurredAt, content: row.content }
    this.appended.push(event)
    return event
  }
}
