// The ingest baselines, in one Fastify process: `POST /raw-pg/schools/:id/invitations` (a raw `pg` insert
// and a BullMQ `queue.add`, no auth or domain rules), `POST /bare` (a JSON route that does nothing), and the
// minimal pipeline's write path, the API's own route `POST /api/accounts/schools/:id/invitations/`: the
// invitation and its event written in one statement, then a job carrying the message on the minimal
// pipeline's queue (servers/minimal-pipeline-worker.ts publishes it), no auth or domain rules either.
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import Fastify from 'fastify'
import pg from 'pg'
import { queuePrefix, SCHOOL_EVENT_JOB_OPTIONS } from '@school/events'
import { MINIMAL_PIPELINE_QUEUE, type MinimalPipelineJob } from './minimal-pipeline-worker.js'

const BASELINE_QUEUE = 'bench-raw-ingest'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
// The same producer settings as the API: fail fast rather than buffer while Redis is away.
const openQueue = <Job>(name: string) =>
  new Queue<Job>(name, {
    connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', enableOfflineQueue: false, maxRetriesPerRequest: 1 },
    prefix: queuePrefix(process.env.REDIS_PREFIX ?? 'bench'),
  })
const queue = openQueue(BASELINE_QUEUE)
const minimalQueue = openQueue<MinimalPipelineJob>(MINIMAL_PIPELINE_QUEUE)
await pool.query(`CREATE TABLE IF NOT EXISTS bench_invitations (
  id serial PRIMARY KEY, school_id int NOT NULL, email text NOT NULL, role text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now())`)
await pool.query(`CREATE TABLE IF NOT EXISTS bench_events (
  id bigserial PRIMARY KEY, event_id uuid NOT NULL, school_id int NOT NULL, type text NOT NULL,
  payload jsonb NOT NULL, occurred_at timestamptz(3) NOT NULL)`)

const app = Fastify({ logger: false })
const created = {
  type: 'object',
  properties: { id: { type: 'integer' }, email: { type: 'string' }, role: { type: 'string' }, createdAt: { type: 'string' } },
} as const

const invitationRequest = {
  params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
  body: {
    type: 'object',
    properties: { email: { type: 'string', format: 'email' }, role: { type: 'string', enum: ['teacher', 'school_admin'] } },
    required: ['email', 'role'],
  },
} as const
type InvitationRequest = { Params: { id: number }; Body: { email: string; role: 'teacher' | 'school_admin' } }

app.post<InvitationRequest>(
  '/raw-pg/schools/:id/invitations',
  { schema: { ...invitationRequest, response: { 201: created } } },
  async (request, reply) => {
    const { rows } = await pool.query<{ id: number; created_at: Date }>(
      'INSERT INTO bench_invitations (school_id, email, role) VALUES ($1, $2, $3) RETURNING id, created_at',
      [request.params.id, request.body.email, request.body.role],
    )
    const row = rows[0]!
    const eventId = randomUUID()
    await queue.add(
      'invitation.created',
      { eventId, schoolId: request.params.id, seq: row.id, type: 'invitation.created', occurredAt: row.created_at.toISOString() },
      { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: eventId },
    )
    return reply.status(201).send({ id: row.id, email: request.body.email, role: request.body.role, createdAt: row.created_at.toISOString() })
  },
)

app.post<InvitationRequest>(
  '/api/accounts/schools/:id/invitations/',
  { schema: { ...invitationRequest, response: { 201: { ...created, properties: { ...created.properties, status: { type: 'string' } } } } } },
  async (request, reply) => {
    const schoolId = request.params.id
    const { email, role } = request.body
    const eventId = randomUUID()
    const { rows } = await pool.query<{ seq: string; invitation_id: number; occurred_at: Date }>(
      `WITH invitation AS (
         INSERT INTO bench_invitations (school_id, email, role) VALUES ($1, $2, $3) RETURNING id, created_at)
       INSERT INTO bench_events (event_id, school_id, type, payload, occurred_at)
       SELECT $4, $1, 'invitation.created', jsonb_build_object('invitationId', id, 'email', $2::text, 'role', $3::text), created_at FROM invitation
       RETURNING id AS seq, (payload->>'invitationId')::int AS invitation_id, occurred_at`,
      [schoolId, email, role, eventId],
    )
    const row = rows[0]!
    const occurredAt = row.occurred_at.toISOString()
    const invitation = { invitationId: row.invitation_id, email, role, status: 'pending' } as const
    await minimalQueue.add('invitation.created', { eventId, schoolId, seq: Number(row.seq), occurredAt, invitation }, { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: eventId })
    return reply.status(201).send({ id: invitation.invitationId, email, role, status: 'pending', createdAt: occurredAt })
  },
)

app.post('/bare', { schema: { response: { 201: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async (_request, reply) =>
  reply.status(201).send({ ok: true }),
)

app.addHook('onClose', async () => {
  await Promise.all([queue.close(), minimalQueue.close()])
  await pool.end()
})
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})

const address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) })
console.log(`ingest-baselines listening on ${address}`)
