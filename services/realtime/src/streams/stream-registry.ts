// Every dashboard stream of this instance, by school, with the source they sync from and the periodic
// reconciliation that catches up a connection whose broadcast was lost (e.g. during a Redis outage).
import type { Logger } from 'pino'
import type { RealtimeConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import { eventsSince, readProjection } from '@school/dashboard'
import { DashboardStream, type StreamOptions, type StreamSink, type StreamSource } from './dashboard-stream.js'
import type { RealtimeMetrics } from '../operations/realtime-metrics.js'

export type StreamTransport = 'websocket' | 'socket.io'

export interface StreamRegistry {
  open(schoolId: number, sink: StreamSink, transport: StreamTransport): DashboardStream
  remove(stream: DashboardStream): void
  /** Compares every local stream with its school's projection now; resolves once the catch-ups are sent. */
  reconcileNow(): Promise<void>
  readonly size: number
  /** Schools with at least one stream here. */
  readonly schools: number
  close(): void
}

export function createStreamSource(prisma: PrismaClient): StreamSource {
  return {
    projection: (schoolId) => readProjection(prisma, schoolId),
    eventsSince: (schoolId, since, limit) => eventsSince(prisma, schoolId, since, limit),
    async lastEventSeq(schoolId) {
      const school = await prisma.school.findUnique({ where: { id: schoolId }, select: { lastEventSeq: true } })
      return school?.lastEventSeq ?? 0
    },
  }
}

export function createStreamRegistry(deps: {
  prisma: PrismaClient
  config: Pick<RealtimeConfig, 'RESUME_MAX_EVENTS' | 'CLIENT_MAX_BUFFERED_BYTES' | 'RECONCILE_INTERVAL_MS'>
  logger: Logger
  metrics?: Pick<RealtimeMetrics, 'delivered' | 'dropped'>
}): StreamRegistry {
  const { prisma, config, logger, metrics } = deps
  const source = createStreamSource(prisma)
  const bySchool = new Map<number, Set<DashboardStream>>()
  // Where each stream stood at the previous tick: one that is behind and has not moved since is stuck,
  // while one that moved is probably receiving the broadcasts it lacks right now.
  const seenAt = new WeakMap<DashboardStream, number>()
  let size = 0

  const reconcileNow = async (onlyStuck = false): Promise<void> => {
    if (bySchool.size === 0) return
    const ids = [...bySchool.keys()]
    const rows = await prisma.schoolDashboardProjection.findMany({
      where: { schoolId: { in: ids } },
      select: { schoolId: true, lastSeq: true },
    })
    const pending: Array<Promise<void>> = []
    for (const { schoolId, lastSeq } of rows) {
      for (const stream of bySchool.get(schoolId) ?? []) {
        const previous = seenAt.get(stream)
        seenAt.set(stream, stream.lastEventSeq)
        if (onlyStuck && previous !== stream.lastEventSeq) continue
        const caughtUp = stream.reconcile(lastSeq)
        if (caughtUp) pending.push(caughtUp)
      }
    }
    await Promise.all(pending)
  }

  const timer = setInterval(() => {
    reconcileNow(true).catch((error: unknown) => logger.warn({ err: error }, 'stream reconciliation failed'))
  }, config.RECONCILE_INTERVAL_MS)
  timer.unref()

  const optionsFor = (transport: StreamTransport): StreamOptions => {
    // One labelled child per message type: inc() on a child skips hashing the labels, which adds up when
    // one broadcast is counted once per connection.
    const delivered = new Map<string, { inc(): void }>()
    return {
      maxReplay: config.RESUME_MAX_EVENTS,
      maxBufferedBytes: config.CLIENT_MAX_BUFFERED_BYTES,
      onError: (error, sink) => logger.error({ ...sink.logFields(), err: error }, 'dashboard stream could not sync'),
      ...(metrics
        ? {
            onSent: ({ type }) => {
              let counter = delivered.get(type)
              if (!counter) delivered.set(type, (counter = metrics.delivered.labels({ type, transport })))
              counter.inc()
            },
            onDropped: (reason, sink) => {
              metrics.dropped.inc({ reason, transport })
              logger.warn({ ...sink.logFields(), reason }, 'dashboard connection dropped')
            },
          }
        : {}),
    }
  }
  // One options object per transport, shared by its streams.
  const optionsOf: Record<StreamTransport, StreamOptions> = { websocket: optionsFor('websocket'), 'socket.io': optionsFor('socket.io') }

  return {
    open(schoolId, sink, transport) {
      const stream = new DashboardStream(schoolId, sink, source, optionsOf[transport])
      let streams = bySchool.get(schoolId)
      if (!streams) bySchool.set(schoolId, (streams = new Set()))
      streams.add(stream)
      size += 1
      return stream
    },
    remove(stream) {
      stream.close()
      const streams = bySchool.get(stream.schoolId)
      if (!streams?.delete(stream)) return
      size -= 1
      if (streams.size === 0) bySchool.delete(stream.schoolId)
    },
    reconcileNow: () => reconcileNow(false),
    get size() {
      return size
    },
    get schools() {
      return bySchool.size
    },
    close() {
      clearInterval(timer)
      for (const streams of bySchool.values()) for (const stream of streams) stream.close()
      bySchool.clear()
      size = 0
    },
  }
}
