// The three Redis connections one realtime instance needs: the Socket.IO adapter's publisher and
// (sharded) subscriber, and BullMQ's worker connection, which blocks and so must be its own.
import { Redis } from 'ioredis'
import type { Logger } from 'pino'

export interface RealtimeRedis {
  /**
   * Adapter publisher (also limits, presence and the instance lease): fails fast, a broadcast that cannot
   * be published is logged, not queued forever.
   */
  pub: Redis
  /** Adapter subscriber: sharded pub/sub (SSUBSCRIBE) per room this instance has members in. */
  sub: Redis
  /** BullMQ worker: blocking commands, so `maxRetriesPerRequest: null` as BullMQ requires. */
  worker: Redis
  /** Closes the three, politely first (QUIT), then by force. */
  close(): Promise<void>
}

export function createRealtimeRedis(url: string, logger: Logger, label = 'realtime'): RealtimeRedis {
  const connect = (role: string, options: { maxRetriesPerRequest: number | null; enableAutoPipelining?: boolean }) => {
    const client = new Redis(url, { connectionName: `${label}:${role}`, ...options })
    // Without a listener ioredis prints "Unhandled error event"; it reconnects on its own.
    client.on('error', (error: Error) => logger.warn({ err: error, redis: role }, 'redis connection error'))
    return client
  }
  // Auto-pipelined: the commands issued in one turn of the event loop go out in one write (an event's
  // messages are published together, one SPUBLISH each).
  const pub = connect('adapter-pub', { maxRetriesPerRequest: 2, enableAutoPipelining: true })
  const sub = connect('adapter-sub', { maxRetriesPerRequest: 2 })
  const worker = connect('worker', { maxRetriesPerRequest: null })
  return {
    pub,
    sub,
    worker,
    async close() {
      await Promise.all(
        [worker, sub, pub].map(async (client) => {
          if (client.status === 'end') return
          try {
            await client.quit()
          } catch {
            client.disconnect()
          }
        }),
      )
    },
  }
}
