// Builds the realtime service on a given http.Server: Socket.IO on the sharded Redis adapter, the
// plain WebSocket gateway riding the same adapter, and the one broadcaster both are fed by.
import { randomUUID } from 'node:crypto'
import type { Server as HttpServer } from 'node:http'
import { Server } from 'socket.io'
import { createShardedAdapter } from '@socket.io/redis-adapter'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { allowedOrigins, proxyTrust, type RealtimeConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import { adapterChannelPrefix, dashboardRoom, parseRevocationScope, type RevocationScope } from '@school/events'
import { createBroadcaster, type Broadcaster } from './broadcaster.js'
import { AdapterBridge } from './gateways/adapter-bridge.js'
import { createHandshake } from './gateways/handshake.js'
import { createPlainWebSocketGateway, type PlainWebSocketGateway } from './gateways/plain-websocket-gateway.js'
import { attachSocketIoGateway } from './gateways/socket-io-gateway.js'
import type { DashboardServer } from './socket-io-types.js'
import { createSocketIoDelivery, type SocketIoDelivery } from './library-internals.js'
import { connectionEstablished } from './gateways/welcome-messages.js'
import { createStreamRegistry, type StreamRegistry } from './streams/stream-registry.js'
import { createTokenExpiry } from './guards/token-expiry.js'
import { createAccessRecheck, type AccessRecheck } from './guards/access-recheck.js'
import { createRenewalCheck } from './guards/token-renewal.js'
import { clientAddressOf } from './guards/client-address.js'
import { createConnectionLimits, type ConnectionLimits } from './guards/connection-limits.js'
import { createRealtimeMetrics, type RealtimeMetrics } from './operations/realtime-metrics.js'
import type { DependencyChecks } from '@school/observability'
import { createPresenceStore } from './presence/presence-store.js'
import { createSchoolPresence, type SchoolPresence } from './presence/school-presence.js'
import { createInstanceLease, type InstanceLease } from './cluster/instance-lease.js'

export interface RealtimeDeps {
  config: RealtimeConfig
  prisma: PrismaClient
  /** The adapter's connections; owned and closed by the caller. */
  redis: { pub: Redis; sub: Redis }
  logger: Logger
  /** Heartbeat of plain WebSocket connections (default 30 s). */
  heartbeatIntervalMs?: number
  /** The process's instruments; a private set is made when absent (tests). */
  metrics?: RealtimeMetrics
}

export interface Realtime {
  io: DashboardServer
  broadcaster: Broadcaster
  bridge: AdapterBridge
  /** How broadcasts are written to Socket.IO sockets: pre-encoded while the library internals allow it. */
  socketIoDelivery: SocketIoDelivery
  plain: PlainWebSocketGateway
  streams: StreamRegistry
  metrics: RealtimeMetrics
  /** Who watches which dashboard, shared with the other instances through Redis. */
  presence: SchoolPresence
  /** Connections per user and per address, and handshakes per address, over every instance. */
  limits: ConnectionLimits
  /** This instance's liveness in Redis, renewed every PRESENCE_HEARTBEAT_MS. */
  lease: InstanceLease
  /** Re-checks the connections guarded against lost access (tests; the timer runs it every ACCESS_RECHECK_MS). */
  access: Pick<AccessRecheck, 'checkNow'>
  /**
   * A user's connections in this scope (to a school, of a session, or all) may have to end: their access
   * or their session may be gone. Every instance, this one included, re-checks them against the database
   * now and closes those it rules out. Resolves once this instance's own re-check is done.
   */
  revoke(scope: RevocationScope): Promise<void>
  /** An applied access event ended a user's owner/admin access to a school: revoke() for that school. */
  accessChanged(schoolId: number, userId: number): void
  /** Stops the lease and withdraws this instance's watchers, telling the other instances (start of a shutdown). */
  withdrawPresence(): Promise<void>
  /** Stops renewing the lease and forgets presence and counts without touching Redis, as a killed process would (tests). */
  halt(): void
  /**
   * Tells every client to reconnect (plain WebSocket: close 1012; Socket.IO: the transport closes, so
   * clients reconnect on their own) and detaches from Redis. Socket.IO's close also closes the http.Server.
   */
  close(): Promise<void>
}

const SOCKET_IO_PATH = '/socket.io/'

/** What this instance needs to serve: the database and both adapter connections to Redis. */
export function realtimeDependencies(prisma: PrismaClient, redis: { pub: Redis; sub: Redis }): DependencyChecks {
  return {
    database: () => prisma.$queryRaw`SELECT 1`,
    redis: () => redis.pub.ping(),
    'redis-subscriber': async () => {
      if (redis.sub.status !== 'ready') throw new Error(`subscriber connection is ${redis.sub.status}`)
    },
  }
}

export function createRealtime(httpServer: HttpServer, deps: RealtimeDeps): Realtime {
  const { config, prisma, redis, logger } = deps
  const bridge = new AdapterBridge()
  const io: DashboardServer = new Server(httpServer, {
    path: SOCKET_IO_PATH,
    transports: ['polling', 'websocket'],
    serveClient: false,
    // Upgrades Socket.IO does not own (the plain WebSocket endpoint) must be left to their listener.
    destroyUpgrade: false,
    maxHttpBufferSize: config.WS_MAX_PAYLOAD_BYTES,
    adapter: bridge.wrap(
      createShardedAdapter(redis.pub, redis.sub, {
        channelPrefix: adapterChannelPrefix(config.REDIS_PREFIX),
        // Subscribe only to the rooms this instance has members in.
        subscriptionMode: 'dynamic',
      }),
    ),
  })

  // One id for this instance in Redis: its lease, its presence entries and its connection counts.
  const instanceId = randomUUID()
  const limits = createConnectionLimits(redis.pub, {
    prefix: config.REDIS_PREFIX,
    instanceId,
    instanceTtlMs: config.PRESENCE_TTL_MS,
    maxPerUser: config.MAX_CONNECTIONS_PER_USER,
    maxPerAddress: config.MAX_CONNECTIONS_PER_IP,
    handshakesPerMinute: config.HANDSHAKES_PER_IP_PER_MINUTE,
    repairIntervalMs: config.PRESENCE_HEARTBEAT_MS,
    logger,
  })
  const handshake = createHandshake({ config, prisma, limits })
  const metrics = deps.metrics ?? createRealtimeMetrics(realtimeDependencies(prisma, redis))
  const namespace = io.of('/')
  const streams = createStreamRegistry({
    prisma,
    config,
    logger,
    metrics,
    joinRoom: (schoolId, member) => bridge.join(namespace.adapter, `school:${schoolId}`, dashboardRoom(schoolId), member),
  })
  const access = createAccessRecheck({
    prisma,
    intervalMs: config.ACCESS_RECHECK_MS,
    logger,
    onRevoked: (trigger, reason) => (reason === 'session' ? metrics.sessionRevoked : metrics.accessRevoked).inc({ trigger }),
  })
  const recheck = (scope: RevocationScope) =>
    access.recheck(scope).catch((error: unknown) => logger.warn({ err: error, scope }, 'connections could not be re-checked'))
  // From the other instances, through the adapter: checked like any input, although only instances send it.
  io.on('access_changed', (raw) => {
    const scope = parseRevocationScope(raw)
    if (scope) void recheck(scope)
  })
  const revoke = async (scope: RevocationScope) => {
    io.serverSideEmit('access_changed', scope)
    await recheck(scope)
  }
  const expiry = createTokenExpiry({ noticeSeconds: config.TOKEN_EXPIRING_NOTICE_S })
  const renewal = createRenewalCheck({ settings: config, prisma, onOutcome: (outcome) => metrics.renewals.inc({ outcome }) })
  const broadcaster = createBroadcaster(io, (type) => metrics.broadcasts.inc({ type }))
  const presence = createSchoolPresence({
    store: createPresenceStore(redis.pub, { prefix: config.REDIS_PREFIX, instanceId }),
    broadcaster,
    logger,
    onClaimed: () => metrics.presenceClaims.inc(),
  })
  // What this instance keeps in Redis is believed while its lease is current: if it lapsed (a stall, or
  // Redis lost its data), others may have removed it, so it is written again.
  const lease = createInstanceLease(redis.pub, {
    prefix: config.REDIS_PREFIX,
    instanceId,
    ttlMs: config.PRESENCE_TTL_MS,
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
    logger,
    listeners: {
      lapsed: async () => {
        await Promise.all([presence.repair(), limits.rewriteAll()])
      },
      peersExpired: (instanceIds) => presence.cleanUp(instanceIds),
    },
  })
  // Broadcasts published while the subscriber was disconnected are lost, presence lists among them: once it
  // is back, this instance's entries are written again and its schools' lists republished.
  let subscribed = redis.sub.status === 'ready'
  const onSubscriberReady = () => {
    if (subscribed) void presence.repair().catch((error: unknown) => logger.warn({ err: error }, 'presence could not be repaired'))
    subscribed = true
  }
  redis.sub.on('ready', onSubscriberReady)
  let withdrawn: Promise<void> | undefined
  const withdrawPresence = () =>
    (withdrawn ??= (async () => {
      redis.sub.off('ready', onSubscriberReady)
      await lease.stop()
      await presence.close()
    })())
  const shared = {
    handshake,
    logger,
    connectionEstablished,
    streams,
    allowedOrigins: new Set(allowedOrigins(config.ALLOWED_ORIGINS, config.PUBLIC_URL)),
    clientAddress: clientAddressOf(proxyTrust(config.TRUST_PROXY)),
    access,
    expiry,
    renewal,
    messagesPerSecond: config.CLIENT_MESSAGES_PER_SECOND,
    presence,
    // The adapter sends SSUBSCRIBE on `sub` synchronously when a room is created; a PING queued behind
    // it on the same connection is answered only after Redis has processed the subscription.
    roomsSubscribed: async () => {
      await redis.sub.ping()
    },
  }
  // Checked now: a library upgrade that changed a member the fast path needs is logged once, and broadcasts
  // go out through socket.emit (library-internals.ts).
  const socketIoDelivery = createSocketIoDelivery(logger)
  attachSocketIoGateway(io, { ...shared, delivery: socketIoDelivery })
  const plain = createPlainWebSocketGateway(httpServer, {
    ...shared,
    socketIoPath: SOCKET_IO_PATH,
    maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
    ...(deps.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: deps.heartbeatIntervalMs } : {}),
  })

  metrics.observe({
    connections: () => ({ websocket: plain.size, 'socket.io': io.of('/').sockets.size }),
    schools: () => streams.schools,
  })

  return {
    io,
    broadcaster,
    bridge,
    socketIoDelivery,
    plain,
    streams,
    metrics,
    presence,
    limits,
    lease,
    access,
    revoke,
    accessChanged(schoolId, userId) {
      void revoke({ userId, schoolId })
    },
    withdrawPresence,
    halt() {
      redis.sub.off('ready', onSubscriberReady)
      void lease.stop()
      presence.halt()
      limits.halt()
    },
    async close() {
      // The others hear this instance's watchers are gone before its clients are told to reconnect.
      await withdrawPresence().catch((error: unknown) => logger.warn({ err: error }, 'presence could not be withdrawn'))
      await plain.close()
      await io.close()
      streams.close()
      access.close()
      expiry.close()
      // The closed connections' counts reach Redis before the caller closes it.
      await limits.settled()
      limits.close()
    },
  }
}
