// Consumes the connection-revocations queue: the API's notices that a session ended (sign-out, a reused
// refresh token) or that every session of a user did (password change). One instance takes each job and
// hands its scope to revoke(), which re-checks this instance's connections in that scope and tells every
// other instance to do the same (the `access_changed` inter-server message that access events use too).
import { Worker, type ConnectionOptions, type Job } from 'bullmq'
import type { Logger } from 'pino'
import { CONNECTION_REVOCATIONS_QUEUE, parseRevocationScope, queuePrefix, type ConnectionRevocationJob, type RevocationScope } from '@school/events'

export interface ConnectionRevocationsWorkerDeps {
  redisPrefix: string
  /** A connection (or its options) with `maxRetriesPerRequest: null`; BullMQ duplicates it for its blocking reads. */
  connection: ConnectionOptions
  logger: Logger
  /** Re-checks the scope here and on every other instance; resolves once this instance's check is done. */
  revoke(scope: RevocationScope): Promise<void>
}

export interface ConnectionRevocationsWorker {
  worker: Worker<ConnectionRevocationJob>
  /** Waits for the job in hand and takes no more. */
  close(): Promise<void>
}

export function startConnectionRevocationsWorker(deps: ConnectionRevocationsWorkerDeps): ConnectionRevocationsWorker {
  const { logger } = deps
  const process = async (job: Job<ConnectionRevocationJob>) => {
    // Queued by our API, but checked like any input: a malformed notice is dropped, not retried.
    const scope = parseRevocationScope(job.data?.scope)
    if (!scope) {
      logger.warn({ jobId: job.id }, 'malformed connection revocation dropped')
      return
    }
    logger.info({ scope, reason: job.data.reason }, 'connection revocation received')
    await deps.revoke(scope)
  }
  const worker = new Worker<ConnectionRevocationJob>(CONNECTION_REVOCATIONS_QUEUE, process, {
    connection: deps.connection,
    prefix: queuePrefix(deps.redisPrefix),
    // Each job is one statement on this instance and one message to the others: a few at once is plenty.
    concurrency: 8,
  })
  worker.on('failed', (job, error) => logger.warn({ err: error, jobId: job?.id }, 'connection revocation job failed'))
  worker.on('error', (error) => logger.error({ err: error }, 'connection revocations worker error'))
  return {
    worker,
    async close() {
      await worker.close()
    },
  }
}
