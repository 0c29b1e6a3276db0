// What the fault-tolerance tests share: a private redis-server they may stop, a load of invitations
// through the API, events appended straight to the log and enqueued by hand, and the checks that a
// client's messages are the log, in order, exactly once.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Queue, QueueEvents } from 'bullmq'
import { Redis } from 'ioredis'
import { appendDomainEvent, invitationEventPayload, schoolEventJob, type PrismaClient } from '@school/db'
import { queuePrefix, SCHOOL_EVENT_JOB_OPTIONS, SCHOOL_EVENTS_QUEUE, type AnyEnvelope, type SchoolEventJob, type SchoolMetrics } from '@school/events'
import { freePort, pollUntil } from '@school/test-support'
import type { Inbox, RunningSystem, ServiceProcess } from '@school/test-support/system'

type Teardown = (fn: () => unknown) => void

export interface PrivateRedis {
  readonly url: string
  readonly port: number
  /** SIGTERM, resolved once the server has exited. Without persistence everything it held is gone. */
  stop(): Promise<void>
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>
}

/** A redis-server of this test alone (no persistence), so that the test may stop it; killed at teardown. */
export async function startPrivateRedis(t: { teardown: Teardown }): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | null = null
  const start = async (): Promise<void> => {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = server
    const output: string[] = []
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: server.stdout! }).on('line', (line) => {
        output.push(line)
        if (line.includes('Ready to accept connections')) resolve()
      })
      server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output.join('\n')}`)))
    })
  }
  const stop = async (): Promise<void> => {
    const server = child
    child = null
    if (!server || server.exitCode !== null || server.signalCode !== null) return
    const exited = once(server, 'exit')
    server.kill('SIGTERM')
    await exited
  }
  await start()
  t.teardown(stop)
  return { url: `redis://127.0.0.1:${port}`, port, stop, start }
}

/**
 * Creates one pending invitation per email through the API, `concurrency` requests in flight, each
 * worker pausing `paceMs` between its requests so that the load lasts while a fault is injected.
 * Rejects on the first answer that is not 201.
 */
export async function createInvitations(
  system: RunningSystem,
  token: string,
  schoolId: number,
  emails: readonly string[],
  options: { concurrency: number; paceMs?: number; onCreated?: (count: number) => void },
): Promise<void> {
  let next = 0
  let created = 0
  const worker = async (): Promise<void> => {
    while (next < emails.length) {
      const email = emails[next++]!
      const { status, body } = await system.request('POST', `/api/accounts/schools/${schoolId}/invitations/`, {
        token,
        body: { email, role: 'teacher' },
      })
      if (status !== 201) throw new Error(`invitation of ${email} answered ${status}: ${JSON.stringify(body)}`)
      options.onCreated?.(++created)
      if (options.paceMs && next < emails.length) await new Promise((resolve) => setTimeout(resolve, options.paceMs))
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
}

export function emails(label: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${label}-${index + 1}@example.com`)
}

/** The job the API enqueues for an event. */
export type EventJob = SchoolEventJob

/**
 * Appends `count` invitation.created events to the school's log in one transaction, exactly as the API
 * does (the school's next seq under its row lock, the invitation row, the event row), without enqueueing.
 */
export async function appendInvitationEvents(
  prisma: PrismaClient,
  schoolId: number,
  actorId: number,
  count: number,
): Promise<EventJob[]> {
  return prisma.$transaction(
    async (tx) => {
      const jobs: EventJob[] = []
      for (let index = 0; index < count; index += 1) {
        const invitation = await tx.invitation.create({
          data: {
            schoolId,
            email: `direct-${randomUUID()}@example.com`,
            role: 'teacher',
            message: null,
            tokenHash: randomBytes(32).toString('hex'),
            expiresAt: new Date(Date.now() + 24 * 3600_000),
            invitedById: actorId,
          },
        })
        const event = await appendDomainEvent(tx, {
          schoolId,
          type: 'invitation.created',
          actorId,
          payload: { ...invitationEventPayload(invitation) },
        })
        jobs.push(schoolEventJob({ ...event, schoolId, type: 'invitation.created' }).data)
      }
      return jobs
    },
    { timeout: 60_000 },
  )
}

/** A producer of the system's school-events queue, and a listener for its jobs' outcomes; closed at teardown. */
export async function openSchoolEventsQueue(
  t: { teardown: Teardown },
  system: RunningSystem,
): Promise<{ queue: Queue<EventJob>; events: QueueEvents; enqueue(jobs: EventJob[], jobId?: (job: EventJob) => string): Promise<void> }> {
  const connection = { url: system.redisUrl, maxRetriesPerRequest: null }
  const prefix = queuePrefix(system.redisPrefix)
  const queue = new Queue<EventJob>(SCHOOL_EVENTS_QUEUE, { connection, prefix })
  // Our own connection for QueueEvents, so that teardown can cut it even while a blocking XREAD hangs.
  const eventsConnection = new Redis(system.redisUrl, { maxRetriesPerRequest: null })
  eventsConnection.on('error', () => {})
  const events = new QueueEvents(SCHOOL_EVENTS_QUEUE, { connection: eventsConnection, prefix })
  t.teardown(async () => {
    // QueueEvents blocks on XREAD; after a Redis restart its close can wait forever for that call, so it
    // gets two seconds and then its connection is cut.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      events.close().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000))),
    ])
    clearTimeout(timer)
    eventsConnection.disconnect()
    await queue.close()
  })
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
  return {
    queue,
    events,
    async enqueue(jobs, jobId = (job) => job.eventId) {
      await queue.addBulk(jobs.map((job) => ({ name: job.type, data: job, opts: { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: jobId(job) } })))
    },
  }
}

// The durability tests import it from here.
export { pollUntil }

/** Waits for a log line of a service containing every one of `texts` (stdout arrives after the HTTP answer). */
export async function waitForLog(service: ServiceProcess, texts: readonly string[], ms = 10_000): Promise<string> {
  const found = await pollUntil(
    async () => service.logs.find((line) => texts.every((text) => line.includes(text))),
    (line) => line !== undefined,
    `${service.name} logging ${JSON.stringify(texts)}`,
    ms,
  )
  return found!
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index)
}

/** The event messages (invitation_status_update, activity_new) of an inbox as [type, seq]. */
export function eventMessages(inbox: Inbox): Array<[string, number | undefined]> {
  return inbox.messages
    .filter((message) => message.type === 'activity_new' || message.type === 'invitation_status_update')
    .map((message) => [message.type, message.seq])
}

/** What a client must receive for invitation events `seqs`: per event its status update, then its activity. */
export function invitationEventStream(seqs: readonly number[]): Array<[string, number]> {
  return seqs.flatMap((seq): Array<[string, number]> => [
    ['invitation_status_update', seq],
    ['activity_new', seq],
  ])
}

export function activitySeqs(inbox: Inbox): number[] {
  return inbox.ofType('activity_new').map((message) => message.seq ?? -1)
}

export function lastMetrics(inbox: Inbox): Extract<AnyEnvelope, { type: 'metrics_update' }> | undefined {
  return inbox.ofType('metrics_update').at(-1)
}

/** The school's log as it stands: its sequence numbers in order. */
export async function logSeqs(prisma: PrismaClient, schoolId: number): Promise<number[]> {
  const rows = await prisma.domainEvent.findMany({ where: { schoolId }, select: { seq: true }, orderBy: { seq: 'asc' } })
  return rows.map((row) => row.seq)
}

/** The dashboard's first render through the API: counters computed from the tables, and the last seq. */
export async function renderedDashboard(
  system: RunningSystem,
  token: string,
  schoolId: number,
): Promise<{ metrics: SchoolMetrics; lastEventSeq: number }> {
  const { status, body } = await system.request('GET', `/api/accounts/schools/${schoolId}/dashboard/`, { token })
  if (status !== 200) throw new Error(`dashboard answered ${status}: ${JSON.stringify(body)}`)
  return { metrics: body.metrics as SchoolMetrics, lastEventSeq: body.lastEventSeq as number }
}
