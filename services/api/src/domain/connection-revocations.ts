// Tells the realtime service to close connections whose session just ended: one job on the
// connection-revocations queue, which a realtime instance takes, applies to its own connections and passes
// on to every other instance (docs/ARCHITECTURE.md, "Revocation"). The session is already revoked in the
// database when this is called, so a notice that cannot be queued (Redis down) loses nothing durable: the
// realtime service's periodic recheck (ACCESS_RECHECK_MS) then closes those connections instead.
import type { Queue } from 'bullmq'
import { CONNECTION_REVOCATION_JOB_OPTIONS, type ConnectionRevocationJob } from '@school/events'
import type { DomainLog } from './call-context.js'

export interface RevocationNotifier {
  /** Queues the notice; never throws (a failure is logged and counted). */
  notify(job: ConnectionRevocationJob, log: DomainLog): Promise<void>
}

export function createRevocationNotifier(queue: Queue<ConnectionRevocationJob>, onFailure: () => void = () => {}): RevocationNotifier {
  return {
    async notify(job, log) {
      try {
        await queue.add(job.reason, job, CONNECTION_REVOCATION_JOB_OPTIONS)
      } catch (error) {
        onFailure()
        log.warn({ err: error, scope: job.scope, reason: job.reason }, 'connection revocation could not be queued; the realtime recheck will close them')
      }
    },
  }
}
