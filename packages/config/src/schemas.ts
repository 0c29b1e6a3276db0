// The environment variables each service understands, with development defaults.
import { Type, type Static } from 'typebox'

// Only for local development and tests; loadConfig refuses it when NODE_ENV=production.
/** Local PostgreSQL and Redis; the password is ignored where the server trusts local connections. */
export const DEFAULT_DATABASE_URL = 'postgresql://postgres:postgres@127.0.0.1:5432/school_dashboard'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
/** Distinct queries a process prepares once per connection (DATABASE_PREPARED_STATEMENTS), unless told otherwise. */
export const DEFAULT_DATABASE_PREPARED_STATEMENTS = 200

export const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789abcdef'

const shared = {
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.String({
    pattern: '^postgres(ql)?://',
    default: DEFAULT_DATABASE_URL,
  }),
  // Distinct queries each process runs as named prepared statements (parsed and planned once per
  // connection); 0 for a pooler that cannot keep them (PgBouncer in transaction mode before 1.21).
  DATABASE_PREPARED_STATEMENTS: Type.Integer({ minimum: 0, maximum: 10_000, default: DEFAULT_DATABASE_PREPARED_STATEMENTS }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: DEFAULT_REDIS_URL }),
  // Namespaces every Redis key and channel of this deployment (BullMQ queues, Socket.IO adapter).
  REDIS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.-]+$', default: 'sd' }),
  // The one signing key (key id `default`); JWT_KEYS replaces it when several keys are accepted (rotation).
  JWT_SECRET: Type.String({ minLength: 32, default: DEV_JWT_SECRET }),
  // `kid:secret,kid:secret,...`: the first signs, all verify (a token picks its key by its `kid` header).
  JWT_KEYS: Type.String({ default: '' }),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'school-dashboard' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'school-dashboard' }),
  // Proxies whose X-Forwarded-For names the client (addresses, CIDR ranges, loopback, linklocal,
  // uniquelocal), comma-separated; empty trusts nobody: the peer's own address is the client's.
  TRUST_PROXY: Type.String({ default: '' }),
}

export const apiConfigSchema = Type.Object({
  ...shared,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  // Base of the links handed to inviters (acceptUrl).
  PUBLIC_URL: Type.String({ pattern: '^https?://', default: 'http://localhost:8000' }),
  // Lifetime of an access token (a JWT); clients renew it with their refresh token before it ends. No
  // default here: accessTokenTtlSeconds() reads it, or the older name JWT_TTL_SECONDS, or 900.
  ACCESS_TOKEN_TTL_S: Type.Optional(Type.Integer({ minimum: 2, maximum: 7 * 24 * 3600 })),
  // The former name of ACCESS_TOKEN_TTL_S, still read when ACCESS_TOKEN_TTL_S is unset (setting both is refused).
  JWT_TTL_SECONDS: Type.Optional(Type.Integer({ minimum: 2, maximum: 7 * 24 * 3600 })),
  // A refresh token unused this long expires (idle lifetime); each use rotates it and starts the idle time again.
  REFRESH_TOKEN_TTL_S: Type.Integer({ minimum: 10, maximum: 90 * 24 * 3600, default: 12 * 3600 }),
  // A session ends this long after sign-in however often it is refreshed (absolute lifetime).
  REFRESH_TOKEN_ABSOLUTE_TTL_S: Type.Integer({ minimum: 10, maximum: 365 * 24 * 3600, default: 7 * 24 * 3600 }),
  // How often sessions whose refresh tokens have all expired are deleted (with their tokens).
  SESSION_SWEEP_MS: Type.Integer({ minimum: 100, maximum: 24 * 3_600_000, default: 3_600_000 }),
  INVITATION_TTL_HOURS: Type.Integer({ minimum: 1, maximum: 24 * 90, default: 168 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 10 * 1024 * 1024, default: 64 * 1024 }),
  // Outbox relay: how often it looks for committed events that never reached the queue, and how old
  // such an event must be (younger ones are still being enqueued by their own request).
  OUTBOX_RELAY_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  OUTBOX_RELAY_GRACE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 2000 }),
  // Browser origins allowed to call the API (CORS), comma-separated; empty means PUBLIC_URL's origin only.
  CORS_ORIGINS: Type.String({ default: '' }),
  // Sign-in attempts per 15 minutes, per account (email) and per client IP; Redis-backed across instances.
  LOGIN_MAX_PER_ACCOUNT: Type.Integer({ minimum: 1, maximum: 10_000, default: 10 }),
  LOGIN_MAX_PER_IP: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
  // Invitations one school may send per rolling hour.
  INVITATIONS_PER_SCHOOL_PER_HOUR: Type.Integer({ minimum: 1, maximum: 100_000, default: 200 }),
  // How often lapsed pending invitations are marked expired (with their `invitation.expired` event).
  INVITATION_EXPIRY_SWEEP_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
  // On SIGTERM, how long /readyz fails while requests are still served before the server closes: behind a
  // load balancer, longer than it takes to mark the instance down (deploy/haproxy: about 2 s); 0 closes at once.
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 0 }),
})

export const realtimeConfigSchema = Type.Object({
  ...shared,
  // The public origin browsers load the dashboard from; with ALLOWED_ORIGINS, who may open a dashboard
  // connection from a browser (cross-site WebSocket hijacking). Clients that send no Origin are not browsers.
  PUBLIC_URL: Type.String({ pattern: '^https?://', default: 'http://localhost:8000' }),
  ALLOWED_ORIGINS: Type.String({ default: '' }),
  // Messages a client may send per second (pings, in-band refreshes); beyond, each is answered with error rate_limited.
  CLIENT_MESSAGES_PER_SECOND: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
  // Open dashboard connections per user and per client address, over every instance (shared in Redis).
  MAX_CONNECTIONS_PER_USER: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20 }),
  MAX_CONNECTIONS_PER_IP: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 200 }),
  // Dashboard handshakes one client address may attempt per minute, refused before any token or database work.
  HANDSHAKES_PER_IP_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 600 }),
  // Access changes made through the API close the connections they end at once (they are events); this is
  // the safety net for changes made outside it (a role edited in the database, an account deleted): every
  // open connection is checked against the database this often, in one statement per instance.
  ACCESS_RECHECK_MS: Type.Integer({ minimum: 50, maximum: 3_600_000, default: 60_000 }),
  // How long before its access token expires a connection is sent token_expiring (renew in band by then).
  TOKEN_EXPIRING_NOTICE_S: Type.Integer({ minimum: 1, maximum: 24 * 3600, default: 60 }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3001 }),
  // Jobs of the school-events queue in hand at once. Any value keeps each school's events in order (one
  // projection pass per school at a time, compare-and-set on its row); jobs in hand together share passes,
  // so 50 is what the queue benchmark found fastest for events spread over many schools.
  WORKER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  WS_MAX_PAYLOAD_BYTES: Type.Integer({ minimum: 128, maximum: 1024 * 1024, default: 16 * 1024 }),
  RECENT_ACTIVITY_LIMIT: Type.Integer({ minimum: 0, maximum: 200, default: 20 }),
  // At most one metrics_update per school per window: a burst of events yields a handful, not one each.
  METRICS_COALESCE_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 100 }),
  // Most events a reconnecting client is replayed; further behind, it gets resume_unavailable + a snapshot.
  RESUME_MAX_EVENTS: Type.Integer({ minimum: 0, maximum: 100_000, default: 1000 }),
  // How often the projections written since the last look are compared with the connections here: one that
  // fell behind (a broadcast lost in a Redis outage) and is still behind a look later is caught up.
  RECONCILE_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 600_000, default: 2000 }),
  // How often events enqueued at least this long ago that their projection lacks are applied without a job
  // (a job lost with Redis's memory).
  CATCH_UP_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 5000 }),
  // Bytes queued for one connection before it counts as stalled and is dropped (close 4008).
  CLIENT_MAX_BUFFERED_BYTES: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 4 * 1024 * 1024 }),
  // An instance's lease (its presence entries and connection counts) lapses this long after its last renewal
  // (keep it a few heartbeats long: a stall longer than this makes the others remove its entries).
  PRESENCE_TTL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 3000 }),
  // How often an instance renews its lease and looks for lapsed ones (one Redis command per instance): a
  // killed instance's watchers are gone from every dashboard within PRESENCE_TTL_MS + PRESENCE_HEARTBEAT_MS.
  PRESENCE_HEARTBEAT_MS: Type.Integer({ minimum: 50, maximum: 300_000, default: 1000 }),
})

export type ApiConfig = Readonly<Static<typeof apiConfigSchema>>

/** The access-token lifetime when neither ACCESS_TOKEN_TTL_S nor JWT_TTL_SECONDS is set: 15 minutes. */
export const DEFAULT_ACCESS_TOKEN_TTL_S = 900

/** The access-token lifetime of a configuration: ACCESS_TOKEN_TTL_S, else its former name JWT_TTL_SECONDS, else 900 s. */
export function accessTokenTtlSeconds(config: Pick<ApiConfig, 'ACCESS_TOKEN_TTL_S' | 'JWT_TTL_SECONDS'>): number {
  return config.ACCESS_TOKEN_TTL_S ?? config.JWT_TTL_SECONDS ?? DEFAULT_ACCESS_TOKEN_TTL_S
}
export type RealtimeConfig = Readonly<Static<typeof realtimeConfigSchema>>
export type SharedConfig = Pick<
  ApiConfig,
  keyof typeof shared
>
