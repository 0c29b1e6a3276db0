// Scenario 6, queue stage: events/s through the realtime service's worker (advance the projection, build
// the messages, broadcast) against BullMQ no-op jobs on the same Redis, at worker concurrency 1, 10 and 50,
// for a burst in one school and for events spread over many; then the queue wait at half of the spread
// peak at the service's default concurrency.
import { randomUUID } from 'node:crypto'
import { Queue, type JobsOptions } from 'bullmq'
import { loadConfig, realtimeConfigSchema } from '@school/config'
import { queuePrefix, SCHOOL_EVENT_JOB_OPTIONS, type SchoolEventJob } from '@school/events'
import { ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld, type BenchWorld } from '../harness/bench-world.js'
import { startCpuWindow } from '../harness/generator-cpu.js'
import { keepAliveAgent, requestJson } from '../harness/json-request.js'
import { benchScript, serviceScript, startPinned, type PinnedProcess } from '../harness/pinned-process.js'
import { createOwnedSchools } from '../harness/owned-schools.js'
import { runAtRate } from '../harness/paced-load.js'
import { waitForQueueDrained } from '../harness/queue-drain.js'
import type { Arm, BenchOptions, GroupResult, Scenario, ScenarioReport, TargetCheck } from '../harness/scenario.js'
import { absoluteTarget, armMedian } from '../harness/alternating-rounds.js'
import { percentile } from '../harness/statistics.js'

interface QueueParams {
  events: number
  concurrencies: number[]
  /** Schools the "spread" workload's events go to: as many as events, one each, so no pass can batch. */
  schools: number
  /** How long events arrive at half of the peak for the queue-wait measurement. */
  waitSeconds: number
}

/** What the realtime service runs with when WORKER_CONCURRENCY is not set: the queue wait is measured there. */
const DEFAULT_CONCURRENCY = loadConfig(realtimeConfigSchema, {}).WORKER_CONCURRENCY
/** Paced jobs before the queue-wait window, not counted: the worker's first passes open connections and compile. */
const WAIT_WARMUP_SECONDS = 2

function params(options: BenchOptions): QueueParams {
  return options.quick
    ? { events: 60, concurrencies: [...new Set([1, DEFAULT_CONCURRENCY])], schools: 60, waitSeconds: 1 }
    : { events: 2000, concurrencies: [...new Set([1, 10, 50, DEFAULT_CONCURRENCY])], schools: 2000, waitSeconds: 10 }
}

/** Where a workload's events go: all to school A (a burst), or spread over the owned schools in turn. */
type Workload = { name: 'one school'; schoolIds: [number] } | { name: 'spread'; schoolIds: number[] }

/** Times a paused queue of `events` jobs from resume() until nothing is left, with `worker` already up. */
async function drainTimed(queue: Queue, worker: PinnedProcess, events: number) {
  const cpu = startCpuWindow()
  const before = await worker.probe()
  await queue.resume()
  const ms = await waitForQueueDrained(queue, 600_000, 5)
  const after = await worker.probe()
  return {
    metrics: { eventsPerSecond: events / (ms / 1000), workerCpu: (after.cpuUs - before.cpuUs) / 1000 / ms },
    generatorCpu: cpu().share,
    detail: { events, ms },
  }
}

let studentSerial = 0

/** Registers one student through the API in the given school: a real event in the log, and its job. */
async function registerStudent(world: BenchWorld, api: PinnedProcess, agent: ReturnType<typeof keepAliveAgent>, schoolId: number): Promise<void> {
  const url = `${api.url}/api/accounts/schools/${schoolId}/students/`
  const response = await requestJson(agent, url, 'POST', { name: `Queue Student ${studentSerial++}` }, { authorization: `Bearer ${world.ownerToken}` })
  if (response.status !== 201) throw new Error(`student registration failed with ${response.status}: ${response.body}`)
}

/** Registers `count` students through the API, a few at a time, over the workload's schools in turn. */
async function createEvents(world: BenchWorld, api: PinnedProcess, workload: Workload, count: number): Promise<void> {
  const agent = keepAliveAgent(8)
  let next = 0
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const schoolId = workload.schoolIds[next++ % workload.schoolIds.length]!
        await registerStudent(world, api, agent, schoolId)
      }
    }),
  )
  agent.destroy()
}

function realtimeWorkerArm(world: BenchWorld, api: PinnedProcess, queue: Queue, workload: Workload, concurrency: number, events: number): Arm {
  return {
    name: 'realtime worker',
    async measure() {
      // The worker is up (its start-up catch-up done) before the events exist, and its periodic catch-up
      // is out of the way: otherwise either would apply the events before the clock starts, and the jobs
      // would only find them applied.
      const realtime = await startPinned('realtime', serviceScript('realtime'), {
        ...world.serviceEnv,
        WORKER_CONCURRENCY: String(concurrency),
        CATCH_UP_INTERVAL_MS: '3600000',
      })
      try {
        await queue.pause()
        await createEvents(world, api, workload, events)
        return await drainTimed(queue, realtime, events)
      } finally {
        await realtime.stop()
      }
    },
  }
}

/**
 * A queue of its own, prepared by `prepare`, with the no-op worker then taking its jobs; the worker and the
 * queue are removed once `use` is done.
 */
async function withNoopQueue<T>(
  world: BenchWorld,
  name: string,
  concurrency: number,
  prepare: (queue: Queue) => Promise<unknown>,
  use: (queue: Queue, worker: PinnedProcess) => Promise<T>,
): Promise<T> {
  const queue = new Queue<SchoolEventJob>(name, { connection: { url: world.redisUrl }, prefix: queuePrefix(world.redisPrefix) })
  try {
    await prepare(queue)
    const worker = await startPinned('noop-worker', benchScript('servers/noop-worker.js'), {
      REDIS_URL: world.redisUrl,
      REDIS_PREFIX: world.redisPrefix,
      QUEUE_NAME: name,
      CONCURRENCY: String(concurrency),
    })
    try {
      return await use(queue, worker)
    } finally {
      await worker.stop()
    }
  } finally {
    await queue.obliterate({ force: true })
    await queue.close()
  }
}

function noopArm(world: BenchWorld, concurrency: number, events: number): Arm {
  return {
    name: 'bullmq no-op',
    measure: (round) =>
      withNoopQueue(
        world,
        `bench-noop-${concurrency}-${round}`,
        concurrency,
        async (queue) => {
          await queue.pause()
          await queue.addBulk(noopJobs(world, events))
        },
        (queue, worker) => drainTimed(queue, worker, events),
      ),
  }
}

type JobToAdd = { name: string; data: SchoolEventJob; opts: JobsOptions }

/**
 * Adds `jobs` to `queue` at `perSecond` (a worker is taking them) and reads each one's wait from BullMQ's
 * own record: `timestamp` (added) to `processedOn` (taken). The first `warmup` jobs are not counted.
 */
async function pacedWaits(queue: Queue, jobs: JobToAdd[], perSecond: number, warmup: number) {
  const cpu = startCpuWindow()
  const outcome = await runAtRate(perSecond, jobs.length / perSecond, (index) => queue.add(jobs[index]!.name, jobs[index]!.data, jobs[index]!.opts))
  const generatorCpu = cpu().share
  await waitForQueueDrained(queue, 60_000, 5)
  const measured = new Set(jobs.slice(warmup).map((job) => job.opts.jobId))
  const done = (await queue.getJobs(['completed'], 0, -1)).filter((job) => measured.has(job.id))
  const waits = done.map((job) => (job.processedOn ?? Number.NaN) - job.timestamp)
  return {
    metrics: {
      perSecond,
      concurrency: DEFAULT_CONCURRENCY,
      jobs: done.length,
      failedAdds: outcome.results.filter((result) => result.status === 'rejected').length,
      waitP50Ms: percentile(waits, 50),
      waitP99Ms: percentile(waits, 99),
      waitMaxMs: Math.max(...waits),
    },
    generatorCpu,
  }
}

/** The no-op jobs of one school, as the baseline arms add them. */
function noopJobs(world: BenchWorld, count: number): JobToAdd[] {
  const occurredAt = new Date().toISOString()
  return Array.from({ length: count }, (_, seq) => {
    const eventId = randomUUID()
    return {
      name: 'student.registered',
      data: { eventId, schoolId: world.fixture.schoolA.id, seq, type: 'student.registered', occurredAt },
      opts: { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: eventId },
    }
  })
}

/** The baseline of the queue wait: the same paced adds to a BullMQ worker whose jobs do nothing. */
function noopQueueWait(world: BenchWorld, round: number, perSecond: number, seconds: number) {
  const warmup = Math.round(perSecond * WAIT_WARMUP_SECONDS)
  const jobs = noopJobs(world, warmup + Math.round(perSecond * seconds))
  return withNoopQueue(world, `bench-noop-wait-${round}`, DEFAULT_CONCURRENCY, async () => {}, (queue) => pacedWaits(queue, jobs, perSecond, warmup))
}

/**
 * Jobs arrive at `perSecond` while the worker runs at its default concurrency; the wait of each job is
 * BullMQ's own record of it: from `timestamp` (added) to `processedOn` (taken by the worker). The events
 * are registered through the API beforehand with the queue paused, and their jobs taken out and added
 * again at the paced rate: the API's own CPU on this machine would otherwise be measured as queue wait.
 */
async function queueWait(world: BenchWorld, api: PinnedProcess, queue: Queue, workload: Workload, perSecond: number, seconds: number) {
  const realtime = await startPinned('realtime', serviceScript('realtime'), { ...world.serviceEnv, CATCH_UP_INTERVAL_MS: '3600000' })
  try {
    await queue.pause()
    const warmup = Math.round(perSecond * WAIT_WARMUP_SECONDS)
    await createEvents(world, api, workload, warmup + Math.round(perSecond * seconds))
    const jobs = (await queue.getJobs(['wait'], 0, -1)).sort((a, b) => a.timestamp - b.timestamp)
    const toAdd: JobToAdd[] = jobs.map((job) => ({ name: job.name, data: job.data as SchoolEventJob, opts: { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: job.id } }))
    await queue.drain()
    await queue.resume()
    return await pacedWaits(queue, toAdd, perSecond, warmup)
  } finally {
    await realtime.stop()
  }
}

export const queueScenario: Scenario = {
  name: 'queue',
  description: 'events/s through the realtime worker vs BullMQ no-op jobs, at concurrency 1, 10, 50; queue wait at half of the peak',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const world = await createBenchWorld('queue')
    try {
      const api = await startPinned('api', serviceScript('api'), world.serviceEnv)
      world.defer(() => api.stop())
      const queue = world.schoolEventsQueue()
      const workloads: Workload[] = [
        { name: 'one school', schoolIds: [world.fixture.schoolA.id] },
        { name: 'spread', schoolIds: await createOwnedSchools(world, p.schools) },
      ]
      const groups: GroupResult[] = []
      const targets: TargetCheck[] = []
      for (const workload of workloads) {
        for (const concurrency of p.concurrencies) {
          const group = await runAlternating(
            `${workload.name === 'one school' ? 'one school' : `spread over ${p.schools} schools`}, concurrency ${concurrency}, ${p.events} events`,
            [realtimeWorkerArm(world, api, queue, workload, concurrency, p.events), noopArm(world, concurrency, p.events)],
            options.rounds,
          )
          groups.push(group)
          targets.push(
            absoluteTarget(`${group.name}: real events/s`, armMedian(group, 'realtime worker', 'eventsPerSecond'), '>=', 2000, [
              `${group.name} / realtime worker`,
            ]),
          )
        }
      }
      // The wait at half of the peak of the default configuration for the harder workload.
      const spreadAtDefault = groups.find((group) => group.name.startsWith('spread') && group.name.includes(`concurrency ${DEFAULT_CONCURRENCY},`))!
      const halfPeak = Math.max(1, Math.round(armMedian(spreadAtDefault, 'realtime worker', 'eventsPerSecond') / 2))
      const waitGroup = await runAlternating(
        `queue wait at half of the spread peak (${halfPeak} events/s, concurrency ${DEFAULT_CONCURRENCY}, ${p.waitSeconds} s after ${WAIT_WARMUP_SECONDS} s of warm-up)`,
        [
          { name: 'realtime worker', measure: () => queueWait(world, api, queue, workloads[1]!, halfPeak, p.waitSeconds) },
          { name: 'bullmq no-op', measure: (round) => noopQueueWait(world, round, halfPeak, p.waitSeconds) },
        ],
        options.rounds,
      )
      groups.push(waitGroup)
      targets.push(
        absoluteTarget('queue wait p99 at half of peak, ms', armMedian(waitGroup, 'realtime worker', 'waitP99Ms'), '<=', 10, [`${waitGroup.name} / realtime worker`]),
      )
      return {
        groups,
        targets,
        voidOnSaturation: true,
        params: { ...p },
        notes: [
          'Jobs are queued while the queue is paused and the worker is started; the clock runs from resume() until no job is waiting or active (polled every 5 ms).',
          'Realtime jobs point at real events (student registrations through the API); no dashboard client is connected, so the broadcast has no local receivers.',
          '"one school": a burst in one school, where one projection pass applies up to 500 events and the jobs after it find their seq applied. "spread": one event per school in turn, so a pass can only batch the jobs the worker has in hand together (up to its concurrency, 64 schools per pass).',
          'workerCpu is the share of its core the worker process used while draining.',
          'Queue wait: BullMQ records when a job was added (timestamp) and taken (processedOn). The events are registered through the API first (queue paused), then their jobs are added again at half of the spread peak at the default concurrency; the first 2 s of jobs are warm-up and not counted. Baseline: the same paced adds to a BullMQ worker whose jobs do nothing, at the same concurrency.',
        ],
      }
    } finally {
      await world.close()
    }
  },
}
