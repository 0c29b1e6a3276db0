// Operability endpoints of the API: `GET /metrics` (Prometheus) and `GET /readyz` (database and Redis
// reachable), plus the request counter and latency histogram, labelled by route pattern, never by raw URL.
import type { Queue } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram } from 'prom-client'
import type { PrismaClient } from '@school/db'
import type { SchoolEventJob } from '@school/events'
import { checkReadiness, createEventStageHistogram, createServiceRegistry, type DependencyChecks } from '@school/observability'

export interface ApiMetrics {
  /** Events put on the queue, by who did it: the request itself or the outbox relay. */
  eventsEnqueued: Counter<'by'>
  /** Events committed whose enqueue failed in the request (left to the relay). */
  enqueueFailures: Counter
  /** Refresh-token exchanges by outcome: rotated, or why not (reused is a stolen session). */
  refreshes: Counter<'outcome'>
  /** Revocation notices that could not be queued (the realtime recheck closes those connections later). */
  revocationNoticeFailures: Counter
  requests: Counter<'method' | 'route' | 'status_code'>
  duration: Histogram<'method' | 'route' | 'status_code'>
  /** Time an event spent in each stage on the API: write (the change began until committed), enqueue (committed until its job was added). */
  eventStage: Histogram<'stage'>
  dependencies: DependencyChecks
  metrics(): Promise<string>
  contentType: string
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** The API's registry and instruments; created with the app and handed to whatever records into them. */
export function createApiMetrics({ prisma, queue }: { prisma: PrismaClient; queue: Queue<SchoolEventJob> }): ApiMetrics {
  const dependencies: DependencyChecks = {
    database: () => prisma.$queryRaw`SELECT 1`,
    // A real round trip on the producer's connection, which fails fast while Redis is unreachable.
    redis: () => queue.getJobCounts('wait'),
  }
  const { registry, metrics, contentType } = createServiceRegistry('api', dependencies)
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  new Gauge({
    name: 'outbox_pending_events',
    help: 'Committed events not marked enqueued: those the outbox relay will enqueue, and queued ones whose mark waits (at most 100 ms).',
    registers: [registry],
    async collect() {
      this.set(await prisma.domainEvent.count({ where: { enqueuedAt: null } }))
    },
  })
  return {
    requests,
    duration,
    eventStage: createEventStageHistogram(
      registry,
      'Time a school event spent in each stage: on the API write (the change began until it committed) and enqueue (committed until its job was added to the queue).',
    ),
    dependencies,
    metrics,
    contentType,
    eventsEnqueued: new Counter({
      name: 'school_events_enqueued_total',
      help: 'Domain events put on the school-events queue, by the request that committed them or by the outbox relay.',
      labelNames: ['by'],
      registers: [registry],
    }),
    enqueueFailures: new Counter({
      name: 'school_events_enqueue_failures_total',
      help: 'Domain events committed whose enqueue failed in the request; the outbox relay enqueues them later.',
      registers: [registry],
    }),
    refreshes: new Counter({
      name: 'auth_refreshes_total',
      help: 'POST /api/auth/refresh by outcome: rotated, missing, invalid, expired, revoked, reused (a rotated token presented again: the session was revoked).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    revocationNoticeFailures: new Counter({
      name: 'connection_revocation_notice_failures_total',
      help: 'Ended sessions whose connection-revocation notice could not be queued; the realtime recheck (ACCESS_RECHECK_MS) closes their connections instead.',
      registers: [registry],
    }),
  }
}

export interface MetricsPluginOptions {
  metrics: ApiMetrics
  /** True once the process is shutting down: /readyz then answers 503 so the load balancer stops sending. */
  isDraining?: () => boolean
}

async function metricsPlugin(app: FastifyInstance, { metrics: api, isDraining = () => false }: MetricsPluginOptions): Promise<void> {
  const { requests, duration, dependencies, metrics, contentType } = api
  app.addHook('onResponse', async (request, reply) => {
    // Unmatched URLs share one label, so a scan of random paths cannot blow up the series count.
    const route = request.routeOptions.url ?? 'unmatched'
    if (route === '/metrics') return
    const labels = { method: request.method, route, status_code: String(reply.statusCode) }
    requests.inc(labels)
    duration.observe(labels, reply.elapsedTime / 1000)
  })

  app.get('/metrics', async (_request, reply) => {
    reply.type(contentType)
    return metrics()
  })
  app.get('/readyz', async (_request, reply) => {
    if (isDraining()) {
      reply.code(503)
      return { status: 'draining', checks: {} }
    }
    const readiness = await checkReadiness(dependencies)
    reply.code(readiness.ready ? 200 : 503)
    return { status: readiness.ready ? 'ready' : 'unready', checks: readiness.checks }
  })
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x' })
