// The ingest baselines, in one Fastify process: `POST /raw-pg/schools/:id/invitations` (a raw `pg` insert
// and a BullMQ `queue.add`, no auth or domain rules) and `POST /bare` (a JSON route that does nothing).
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import Fastify from 'fastify'
import pg from 'pg'
import { queuePrefix, SCHOOL_EVENT_JOB_OPTIONS } from '@school/events'

const BASELINE_QUEUE = 'bench-raw-ingest'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
// The same producer settings as the API: fail fast rather than buffer while Redis is away.
const queue = new Queue(BASELINE_QUEUE, {
  connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  prefix: queuePrefix(process.env.REDIS_PREFIX ?? 'bench'),
})
await pool.query(`CREATE TABLE IF NOT EXISTS bench_invitations (
  id serial PRIMARY KEY, school_id int NOT NULL, email text NOT NULL, role text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now())`)

const app = Fastify({ logger: false })
const created = {
  type: 'object',
  properties: { id: { type: 'integer' }, email: { type: 'string' }, role: { type: 'string' }, createdAt: { type: 'string' } },
} as const

app.post<{ Params: { id: number }; Body: { email: string; role: string } }>(
  '/raw-pg/schools/:id/invitations',
  {
    schema: {
      params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
      body: {
        type: 'object',
        properties: { email: { type: 'string', format: 'email' }, role: { type: 'string', enum: ['teacher', 'school_admin'] } },
        required: ['email', 'role'],
      },
      response: { 201: created },
    },
  },
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

app.post('/bare', { schema: { response: { 201: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async (_request, reply) =>
  reply.status(201).send({ ok: true }),
)

app.addHook('onClose', async () => {
  await queue.close()
  await pool.end()
})
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})

const address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) })
console.log(`ingest-baselines listening on ${address}`)
