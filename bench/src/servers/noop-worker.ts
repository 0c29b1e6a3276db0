// The queue-stage baseline: a BullMQ worker whose processor does nothing, on the same Redis and with the
// same connection settings as the realtime worker, at the concurrency given in CONCURRENCY.
import { Worker } from 'bullmq'
import { queuePrefix } from '@school/events'

const worker = new Worker(process.env.QUEUE_NAME ?? 'bench-noop', async () => undefined, {
  connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', maxRetriesPerRequest: null },
  prefix: queuePrefix(process.env.REDIS_PREFIX ?? 'bench'),
  concurrency: Number(process.env.CONCURRENCY ?? 1),
})
await worker.waitUntilReady()
console.log('bench-ready')

process.once('SIGTERM', () => {
  void worker.close().then(() => process.exit(0))
})
