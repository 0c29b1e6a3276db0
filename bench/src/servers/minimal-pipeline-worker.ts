// The minimal pipeline's queue and worker, the baseline of latency's spread cells: the ingest baselines'
// invitations route (servers/ingest-baselines.ts) adds a job per invitation carrying its message, and this
// worker, run inside the bare ws server (servers/bare-ws-server.ts) as the realtime service runs its worker
// beside its gateways, publishes it to the school's dashboards. Nothing else: no log read, no projection.
import { Worker } from 'bullmq'
import { envelope, queuePrefix, type ServerMessages } from '@school/events'

export const MINIMAL_PIPELINE_QUEUE = 'bench-minimal-pipeline'
/** The realtime service's default WORKER_CONCURRENCY. */
const CONCURRENCY = 50

export interface MinimalPipelineJob {
  eventId: string
  schoolId: number
  seq: number
  occurredAt: string
  invitation: ServerMessages['invitation_status_update']
}

/** Starts the worker; `publish` sends a serialized message to every dashboard of a school. Resolves to its close. */
export async function startMinimalPipelineWorker(publish: (schoolId: number, frame: string) => void): Promise<() => Promise<void>> {
  const worker = new Worker<MinimalPipelineJob>(
    MINIMAL_PIPELINE_QUEUE,
    async ({ data }) => {
      publish(data.schoolId, JSON.stringify(envelope('invitation_status_update', data.invitation, { eventId: data.eventId, seq: data.seq })))
    },
    {
      // The realtime worker's connection settings: a blocking connection never gives up on Redis.
      connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', maxRetriesPerRequest: null },
      prefix: queuePrefix(process.env.REDIS_PREFIX ?? 'bench'),
      concurrency: CONCURRENCY,
    },
  )
  await worker.waitUntilReady()
  return () => worker.close()
}
