// The outbox relay: finds events that committed but never reached the queue (the API died between commit
// and enqueue, Redis was down) and enqueues them. The job id is the event id, so an event the request
// did enqueue after all is not queued twice; `FOR UPDATE SKIP LOCKED` lets several API instances relay
// side by side without handing out the same rows.
import type { Queue } from 'bullmq'
import type { FastifyBaseLogger } from 'fastify'
import { markEnqueued, schoolEventJob, type PrismaClient } from '@school/db'
import type { SchoolEventJob } from '@school/events'

export interface OutboxRelayDeps {
  prisma: PrismaClient
  queue: Queue<SchoolEventJob>
  /** Events younger than this are left to the request that committed them. */
  graceMs: number
  batchSize?: number
}

interface PendingRow {
  id: string
  school_id: number
  seq: number
  type: string
  occurred_at: Date
}

/** Enqueues one batch of unenqueued events; resolves with how many it enqueued. */
export async function relayOutbox(deps: OutboxRelayDeps, log: FastifyBaseLogger): Promise<number> {
  const { prisma, queue, graceMs } = deps
  return prisma.$transaction(
    async (tx) => {
      const rows = await tx.$queryRaw<PendingRow[]>`
        SELECT id, school_id, seq, type, occurred_at FROM domain_events
        WHERE enqueued_at IS NULL AND occurred_at < now() - make_interval(secs => ${graceMs / 1000})
        ORDER BY school_id, seq
        LIMIT ${deps.batchSize ?? 500}
        FOR UPDATE SKIP LOCKED`
      if (rows.length === 0) return 0
      await queue.addBulk(
        rows.map((row) => schoolEventJob({ id: row.id, schoolId: row.school_id, seq: row.seq, type: row.type, occurredAt: row.occurred_at })),
      )
      await markEnqueued(tx, rows.map((row) => row.id))
      log.info({ events: rows.length, first: { schoolId: rows[0]!.school_id, seq: rows[0]!.seq } }, 'outbox relay enqueued committed events')
      return rows.length
    },
    { timeout: 30_000 },
  )
}
