// Every dashboard stream of this instance, by school, with the source they sync from and the periodic
// reconciliation that catches up a connection whose broadcast was lost (a Redis outage, a worker killed
// between its commit and its publish). Each pass reads only the projections written since the previous
// one, so its cost follows the events, not the number of schools or connections held here.
//
// A school with streams here is one member of its room (under the pseudo id `school:<id>`, through the
// adapter bridge), whatever its number of connections: the adapter subscribes to the room while the school
// has a stream here, and a broadcast reaches the school's streams from that one member. A member per
// connection cost an adapter entry, a Set of rooms and an id per connection, and a lookup each per broadcast.
import type { Logger } from 'pino'
import type { RealtimeConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import { eventsSince, projectionsChangedSince, readProjection } from '@school/dashboard'
import type { DashboardTransport } from '@school/events'
import { DashboardStream, type StreamOptions, type StreamSink, type StreamSource } from './dashboard-stream.js'
import type { PlainMember, PlainMembership } from '../gateways/adapter-bridge.js'
import type { PreparedMessage } from './prepared-message.js'
import type { RealtimeMetrics } from '../operations/realtime-metrics.js'

export interface StreamRegistry {
  open(schoolId: number, sink: StreamSink, transport: DashboardTransport): DashboardStream
  remove(stream: DashboardStream): void
  readonly size: number
  /** Schools with at least one stream here. */
  readonly schools: number
  close(): void
}

function createStreamSource(prisma: PrismaClient): StreamSource {
  return {
    projection: (schoolId) => readProjection(prisma, schoolId),
    eventsSince: (schoolId, since, limit) => eventsSince(prisma, schoolId, since, limit),
    async lastEventSeq(schoolId) {
      const school = await prisma.school.findUnique({ where: { id: schoolId }, select: { lastEventSeq: true } })
      return school?.lastEventSeq ?? 0
    },
  }
}

/** The school's streams here, as one member of its room: a broadcast is handed to each of them. */
class SchoolStreams implements PlainMember {
  readonly streams = new Set<DashboardStream>()
  membership!: PlainMembership

  deliver(prepared: PreparedMessage): void {
    // A stream may be removed while this runs (a dropped slow consumer): a Set's iteration allows it.
    for (const stream of this.streams) stream.receive(prepared.message, prepared)
  }
}

export function createStreamRegistry(deps: {
  prisma: PrismaClient
  /** Makes `member` the school's member of its room (the adapter bridge); left when the school's last stream goes. */
  joinRoom(schoolId: number, member: PlainMember): PlainMembership
  config: Pick<RealtimeConfig, 'RESUME_MAX_EVENTS' | 'CLIENT_MAX_BUFFERED_BYTES' | 'RECONCILE_INTERVAL_MS'>
  logger: Logger
  metrics?: Pick<RealtimeMetrics, 'delivered' | 'dropped'>
}): StreamRegistry {
  const { prisma, config, logger, metrics } = deps
  const source = createStreamSource(prisma)
  const bySchool = new Map<number, SchoolStreams>()
  let size = 0
  /** Where the next pass starts reading; null while nothing is watched here. */
  let since: Date | null = null
  /**
   * Schools whose projection the previous pass found ahead of some local stream, and how far: a stream still
   * behind that a pass later had a whole interval to receive the broadcast, so it is caught up from the log.
   */
  let behind = new Map<number, number>()

  const isBehind = (stream: DashboardStream, lastSeq: number) => stream.lastEventSeq < lastSeq || stream.lastMetricsSeq < lastSeq

  /** One reconciliation pass (the timer's); resolves once its catch-ups are sent. */
  const reconcileNow = async (): Promise<void> => {
    if (bySchool.size === 0) {
      since = null
      behind = new Map()
      return
    }
    const { nextSince, changed } = await projectionsChangedSince(prisma, since)
    since = nextSince
    const pending: Array<Promise<void>> = []
    for (const [schoolId, lastSeq] of behind) {
      for (const stream of bySchool.get(schoolId)?.streams ?? []) {
        const caughtUp = isBehind(stream, lastSeq) ? stream.reconcile(lastSeq) : undefined
        if (caughtUp) pending.push(caughtUp)
      }
    }
    behind = new Map()
    for (const { schoolId, lastSeq } of changed) {
      for (const stream of bySchool.get(schoolId)?.streams ?? []) {
        if (!isBehind(stream, lastSeq)) continue
        behind.set(schoolId, lastSeq)
        break
      }
    }
    await Promise.all(pending)
  }

  let running: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    running = running.then(reconcileNow).catch((error: unknown) => logger.warn({ err: error }, 'stream reconciliation failed'))
  }, config.RECONCILE_INTERVAL_MS)
  timer.unref()

  const optionsFor = (transport: DashboardTransport): StreamOptions => {
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
  const optionsOf: Record<DashboardTransport, StreamOptions> = { websocket: optionsFor('websocket'), 'socket.io': optionsFor('socket.io') }

  return {
    open(schoolId, sink, transport) {
      const stream = new DashboardStream(schoolId, sink, source, optionsOf[transport])
      let school = bySchool.get(schoolId)
      if (!school) {
        bySchool.set(schoolId, (school = new SchoolStreams()))
        school.membership = deps.joinRoom(schoolId, school)
      }
      school.streams.add(stream)
      size += 1
      return stream
    },
    remove(stream) {
      stream.close()
      const school = bySchool.get(stream.schoolId)
      if (!school?.streams.delete(stream)) return
      size -= 1
      if (school.streams.size > 0) return
      bySchool.delete(stream.schoolId)
      school.membership.leave()
    },
    get size() {
      return size
    },
    get schools() {
      return bySchool.size
    },
    close() {
      clearInterval(timer)
      for (const school of bySchool.values()) {
        for (const stream of school.streams) stream.close()
        school.membership.leave()
      }
      bySchool.clear()
      size = 0
    },
  }
}
