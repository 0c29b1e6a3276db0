import t from 'tap'
import { once } from 'node:events'
import { randomUUID } from 'node:crypto'
import pino from 'pino'
import { appendDomainEvent, schoolEventJob, type Prisma } from '@school/db'
import { eventRowOfJob, foldLog, readProjection } from '@school/dashboard'
import { SCHOOL_EVENT_JOB_OPTIONS, type AnyEnvelope, type SchoolEventJob } from '@school/events'
import { PlainClient, SocketIoClient, type DashboardClient } from '@school/test-support/clients'
import { createRealtimeMetrics } from '../../src/operations/realtime-metrics.js'
import { createSchoolEventsProcessor } from '../../src/worker/school-events-worker.js'
import { createWorld } from '../helper.js'

const world = await createWorld(t, 'rt_worker')
const { fixture } = world
const instance = await world.startInstance()
const track = async <C extends DashboardClient>(opening: Promise<C>): Promise<C> => {
  const client = await opening
  world.defer(() => client.close())
  await client.inbox.next('connection_established')
  await client.inbox.next('the metrics snapshot')
  return client
}

t.test('an invitation event reaches both transports as status, activity and metrics, in that order', async (t) => {
  const clients: DashboardClient[] = [
    await track(PlainClient.connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA))),
    await track(SocketIoClient.connect(instance.url, fixture.schoolA.id, world.token(fixture.adminA))),
  ]
  const before = await world.prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })
  const { eventId, seq } = await world.inviteSomeone(fixture.schoolA.id, 'ana@example.com', 'teacher')
  t.equal(seq, before.lastEventSeq + 1, 'the next sequence number of the school')
  const invitation = await world.prisma.invitation.findFirstOrThrow({ where: { email: 'ana@example.com' } })
  const event = await world.prisma.domainEvent.findUniqueOrThrow({ where: { id: eventId } })

  const received: AnyEnvelope[][] = []
  for (const client of clients) {
    received.push([await client.inbox.next(`${client.kind} 1`), await client.inbox.next(`${client.kind} 2`), await client.inbox.next(`${client.kind} 3`)])
  }
  for (const [i, [status, activity, metrics]] of received.entries()) {
    const kind = clients[i]!.kind
    t.same(status, {
      type: 'invitation_status_update',
      data: { invitationId: invitation.id, email: 'ana@example.com', role: 'teacher', status: 'pending' },
      ts: status!.ts,
      eventId,
      seq,
    }, `${kind}: invitation_status_update`)
    t.same(activity, {
      type: 'activity_new',
      data: {
        id: eventId,
        seq,
        type: 'invitation.created',
        actor: { id: fixture.ownerA.id, name: fixture.ownerA.name },
        summary: 'Olivia Owner invited ana@example.com as teacher',
        occurredAt: event.occurredAt.toISOString(),
      },
      ts: activity!.ts,
      eventId,
      seq,
    }, `${kind}: activity_new`)
    t.same(metrics, {
      type: 'metrics_update',
      data: {
        students: 1,
        teachers: 1,
        admins: 2,
        classes: 0,
        pendingInvitations: 1,
        acceptedInvitations: 0,
        declinedInvitations: 0,
        cancelledInvitations: 0,
        expiredInvitations: 0,
      },
      ts: metrics!.ts,
      seq,
    }, `${kind}: metrics_update, reflecting the log up to this event`)
    for (const message of [status!, activity!, metrics!]) t.ok(Date.parse(message.ts) >= event.occurredAt.getTime(), `${kind}: ts after the event`)
  }
  t.same(received[0], received[1], 'both transports got identical envelopes')
})

t.test('an event that is not an invitation causes activity and metrics only', async (t) => {
  const client = await track(PlainClient.connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA)))
  const { eventId, seq } = await world.produceEvent(
    fixture.schoolA.id,
    'class.created',
    async (tx) => {
      const created = await tx.schoolClass.create({ data: { schoolId: fixture.schoolA.id, name: '7A', teacherId: fixture.teacherA.id } })
      return { classId: created.id, name: '7A', teacherId: fixture.teacherA.id, teacherName: fixture.teacherA.name }
    },
    { actorId: fixture.adminA.id },
  )
  const activity = await client.inbox.next()
  t.match(activity, { type: 'activity_new', eventId, seq, data: { summary: 'Adam Admin created class 7A taught by Tereza Teacher' } })
  const metrics = await client.inbox.next()
  t.match(metrics, { type: 'metrics_update', seq, data: { classes: 1 } })
})

t.test('a job whose event is not in the log fails, so BullMQ retries it', async (t) => {
  const { worker } = instance.worker!
  const eventId = randomUUID()
  const job: SchoolEventJob = { eventId, schoolId: fixture.schoolA.id, seq: 99, type: 'invitation.created', occurredAt: new Date().toISOString() }
  const failed = once(worker, 'failed')
  await world.queue.add(job.type, job, { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: eventId, attempts: 2, backoff: { type: 'fixed', delay: 10 } })
  const [first, firstError] = (await failed) as [{ id: string; attemptsMade: number }, Error]
  t.equal(first.id, eventId)
  t.match(firstError.message, `event ${eventId} (seq 99) of school ${fixture.schoolA.id} is not in the log`)
  const [again] = (await once(worker, 'failed')) as [{ attemptsMade: number }]
  t.equal(again.attemptsMade, 2, 'retried once more, then left in the failed set')
  t.equal(await world.queue.getJobState(eventId), 'failed')
})

t.test("a burst of one school's jobs costs one projection pass: the rest see it applied and return at once", async (t) => {
  const { worker, processor } = instance.worker!
  await world.queue.pause()
  const produced: Array<{ eventId: string; seq: number }> = []
  for (let i = 0; i < 20; i++) {
    produced.push(await world.produceEvent(fixture.schoolB.id, 'class.created', async (tx) => {
      const created = await tx.schoolClass.create({ data: { schoolId: fixture.schoolB.id, name: `burst ${i}` } })
      return { classId: created.id, name: created.name, teacherId: null, teacherName: null }
    }))
  }
  const results = new Map<string, { applied: number }>()
  const allDone = new Promise<void>((resolve) => {
    const onCompleted = (job: { id?: string }, result: { applied: number }) => {
      if (!produced.some((event) => event.eventId === job.id)) return
      results.set(job.id!, result)
      if (results.size === produced.length) {
        worker.off('completed', onCompleted)
        resolve()
      }
    }
    worker.on('completed', onCompleted)
  })
  await world.queue.resume()
  await allDone
  t.same(
    produced.map((event) => results.get(event.eventId)?.applied),
    [20, ...Array.from({ length: 19 }, () => 0)],
    'the first job applied all twenty; the other nineteen had nothing to do',
  )
  t.equal(processor.appliedThrough(fixture.schoolB.id), produced.at(-1)!.seq)
})

t.test("each job's time waiting in the queue and in its projection pass is recorded per stage", async (t) => {
  const stages = async () => {
    const { values } = await instance.realtime.metrics.eventStage.get()
    const count = (stage: string) =>
      values.find((v) => v.labels.stage === stage && (v as { metricName?: string }).metricName === 'school_event_stage_seconds_count')?.value ?? 0
    return { queueWait: count('queue_wait'), projection: count('projection') }
  }
  const before = await stages()
  const email = `stages-${Date.now()}@example.com`
  // Recorded before the job completes: its completion is the event to await.
  const completed = new Promise<void>((resolve) => {
    const onCompleted = (job: { data: SchoolEventJob }) => {
      if (job.data.type !== 'invitation.created') return
      instance.worker!.worker.off('completed', onCompleted)
      resolve()
    }
    instance.worker!.worker.on('completed', onCompleted)
  })
  await world.inviteSomeone(fixture.schoolA.id, email)
  await completed
  const after = await stages()
  t.same({ queueWait: after.queueWait - before.queueWait, projection: after.projection - before.projection }, { queueWait: 1, projection: 1 })
})

t.test("a job carrying its event, for a school whose row this instance's last pass left, is applied from memory; one without it reads the log", async (t) => {
  const client = await track(PlainClient.connect(instance.url, fixture.schoolB.id, world.token(fixture.ownerB)))
  const advances = async () => {
    const { values } = await instance.realtime.metrics.projectionAdvances.get()
    const count = (source: string) => values.find((v) => v.labels.source === source)?.value ?? 0
    return { memory: count('memory'), log: count('log') }
  }
  const newClass = (name: string) => async (tx: Prisma.TransactionClient) => {
    const created = await tx.schoolClass.create({ data: { schoolId: fixture.schoolB.id, name } })
    return { classId: created.id, name, teacherId: null, teacherName: null }
  }
  const emitted = async (eventId: string) => {
    t.match(await client.inbox.next(`activity of ${eventId}`), { type: 'activity_new', eventId })
    return client.inbox.next(`metrics after ${eventId}`)
  }

  const before = await advances()
  const pointer = await world.produceEvent(fixture.schoolB.id, 'class.created', newClass('memory 1'), { actorId: fixture.ownerB.id, pointerOnly: true })
  const first = await emitted(pointer.eventId)
  const afterPointer = await advances()
  t.same({ memory: afterPointer.memory - before.memory, log: afterPointer.log - before.log }, { memory: 0, log: 1 }, 'a job without its event reads the log')

  const carried = await world.produceEvent(fixture.schoolB.id, 'class.created', newClass('memory 2'), { actorId: fixture.ownerB.id })
  const second = await emitted(carried.eventId)
  const afterCarried = await advances()
  t.same({ memory: afterCarried.memory - afterPointer.memory, log: afterCarried.log - afterPointer.log }, { memory: 1, log: 0 }, 'the next one, carried, does not')
  t.match(second, { type: 'metrics_update', seq: carried.seq, data: { classes: (first as { data: { classes: number } }).data.classes + 1 } })
  const stored = await world.prisma.schoolDashboardProjection.findUniqueOrThrow({ where: { schoolId: fixture.schoolB.id } })
  t.equal(stored.lastSeq, carried.seq)
  t.equal(stored.classes, (second as { data: { classes: number } }).data.classes, 'the row holds what was emitted')
})

t.test('two instances advancing one school in turn: each finds the row the other wrote, reads the log, and nothing is applied twice or skipped', async (t) => {
  // Two processors over the same database, as two realtime instances whose workers take one school's jobs
  // alternately; the events are appended without jobs, so the running instance does not take them.
  const emitted: Array<{ by: string; seq: number }> = []
  const processorOf = (by: string) => {
    const metrics = createRealtimeMetrics({})
    const processor = createSchoolEventsProcessor({
      config: world.config,
      prisma: world.prisma,
      broadcaster: {
        publish(_schoolId, messages) {
          for (const message of messages) if (message.type === 'activity_new') emitted.push({ by, seq: message.seq ?? Number.NaN })
        },
      },
      logger: pino({ level: 'silent' }),
      metrics,
    })
    t.teardown(() => processor.metrics.flush())
    const advances = async () => {
      const { values } = await metrics.projectionAdvances.get()
      return Object.fromEntries(values.map((v) => [v.labels.source, v.value]))
    }
    return { processor, advances }
  }
  const one = processorOf('one')
  const two = processorOf('two')
  const schoolId = fixture.schoolB.id
  const append = async (name: string) => {
    const event = await world.prisma.$transaction(async (tx) => {
      const created = await tx.schoolClass.create({ data: { schoolId, name } })
      const payload = { classId: created.id, name, teacherId: null, teacherName: null }
      return appendDomainEvent(tx, { schoolId, type: 'class.created', actorId: null, payload })
    })
    const job = schoolEventJob({ ...event, schoolId, type: 'class.created' })
    return { seq: event.seq, carried: eventRowOfJob(job.data)! }
  }

  // Each instance has advanced the school once: each remembers the row as it left it.
  await one.processor.advance(schoolId)
  await two.processor.advance(schoolId)
  const start = emitted.length
  const seqs: number[] = []
  for (let i = 0; i < 6; i++) {
    const { seq, carried } = await append(`turns ${i}`)
    seqs.push(seq)
    const { processor } = i % 2 === 0 ? one : two
    t.match(await processor.advance(schoolId, seq, carried), { lastSeq: seq, applied: 1 }, `event ${i} applied by the instance that took its job`)
  }
  t.same(emitted.slice(start), seqs.map((seq, i) => ({ by: i % 2 === 0 ? 'one' : 'two', seq })), 'each event emitted once, in order')
  // The first event followed the row instance one remembered; every later one found the other instance's write.
  // An advance without a seq ends with a pass that finds nothing more: two passes each at the start.
  t.same(await one.advances(), { log: 4, memory: 1 }, 'one: two passes at the start, then events 0 (from memory), 2 and 4')
  t.same(await two.advances(), { log: 5 }, 'two: two passes at the start, then events 1, 3 and 5')
  const fromLog = await foldLog(world.prisma, schoolId)
  t.same(await readProjection(world.prisma, schoolId), { metrics: fromLog.metrics, lastSeq: seqs.at(-1) }, 'the stored row is the fold of the log')
})
