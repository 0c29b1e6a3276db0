// Scenario 6, queue stage: events/s through the realtime service's worker (load the event, build the
// messages, broadcast) against BullMQ no-op jobs on the same Redis, at worker concurrency 1, 10 and 50.
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { queuePrefix, SCHOOL_EVENT_JOB_OPTIONS, SCHOOL_EVENTS_QUEUE, type SchoolEventJob } from '@school/events'
import { ratioTarget, runAlternating } from '../harness/alternating-rounds.js'
import { createBenchWorld, type BenchWorld } from '../harness/bench-world.js'
import { startCpuWindow } from '../harness/generator-cpu.js'
import { keepAliveAgent, requestJson } from '../harness/json-request.js'
import { benchScript, serviceScript, startPinned, type PinnedProcess } from '../harness/pinned-process.js'
import { waitForQueueDrained } from '../harness/queue-drain.js'
import type { Arm, BenchOptions, GroupResult, Scenario, ScenarioReport } from '../harness/scenario.js'

interface QueueParams {
  events: number
  concurrencies: number[]
}

function params(options: BenchOptions): QueueParams {
  return options.quick ? { events: 60, concurrencies: [1, 10] } : { events: 2000, concurrencies: [1, 10, 50] }
}

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

/** Registers `count` students through the API, a few at a time: each is a real event in the log. */
async function createEvents(world: BenchWorld, api: PinnedProcess, count: number): Promise<void> {
  const agent = keepAliveAgent(8)
  const url = `${api.url}/api/accounts/schools/${world.fixture.schoolA.id}/students/`
  let next = 0
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        next++
        const response = await requestJson(agent, url, 'POST', { name: `Queue Student ${next}` }, { authorization: `Bearer ${world.ownerToken}` })
        if (response.status !== 201) throw new Error(`student registration failed with ${response.status}: ${response.body}`)
      }
    }),
  )
  agent.destroy()
}

function realtimeWorkerArm(world: BenchWorld, api: PinnedProcess, queue: Queue, concurrency: number, events: number): Arm {
  return {
    name: 'realtime worker',
    async measure() {
      await queue.pause()
      await createEvents(world, api, events)
      const realtime = await startPinned('realtime', serviceScript('realtime'), { ...world.serviceEnv, WORKER_CONCURRENCY: String(concurrency) })
      try {
        return await drainTimed(queue, realtime, events)
      } finally {
        await realtime.stop()
      }
    },
  }
}

function noopArm(world: BenchWorld, concurrency: number, events: number): Arm {
  return {
    name: 'bullmq no-op',
    async measure(round) {
      const name = `bench-noop-${concurrency}-${round}`
      const queue = new Queue<SchoolEventJob>(name, { connection: { url: world.redisUrl }, prefix: queuePrefix(world.redisPrefix) })
      await queue.pause()
      const occurredAt = new Date().toISOString()
      await queue.addBulk(
        Array.from({ length: events }, (_, seq) => {
          const eventId = randomUUID()
          return {
            name: 'student.registered',
            data: { eventId, schoolId: world.fixture.schoolA.id, seq, type: 'student.registered', occurredAt },
            opts: { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: eventId },
          }
        }),
      )
      const worker = await startPinned('noop-worker', benchScript('servers/noop-worker.js'), {
        REDIS_URL: world.redisUrl,
        REDIS_PREFIX: world.redisPrefix,
        QUEUE_NAME: name,
        CONCURRENCY: String(concurrency),
      })
      try {
        return await drainTimed(queue, worker, events)
      } finally {
        await worker.stop()
        await queue.obliterate({ force: true })
        await queue.close()
      }
    },
  }
}

export const queueScenario: Scenario = {
  name: 'queue',
  description: 'events/s through the realtime worker vs BullMQ no-op jobs, at concurrency 1, 10, 50',
  async run(options): Promise<ScenarioReport> {
    const p = params(options)
    const world = await createBenchWorld('queue')
    try {
      const api = await startPinned('api', serviceScript('api'), world.serviceEnv)
      world.defer(() => api.stop())
      const queue = new Queue(SCHOOL_EVENTS_QUEUE, { connection: { url: world.redisUrl }, prefix: queuePrefix(world.redisPrefix) })
      world.defer(() => queue.close())
      const groups: GroupResult[] = []
      for (const concurrency of p.concurrencies) {
        groups.push(
          await runAlternating(
            `concurrency ${concurrency}, ${p.events} events`,
            [realtimeWorkerArm(world, api, queue, concurrency, p.events), noopArm(world, concurrency, p.events)],
            options.rounds,
          ),
        )
      }
      return {
        groups,
        targets: groups.map((group) =>
          ratioTarget(`${group.name}: worker / no-op events/s (no target; reported)`, group, 'realtime worker', 'bullmq no-op', 'eventsPerSecond', '>=', 0),
        ),
        voidOnSaturation: true,
        params: { ...p },
        notes: [
          'Jobs are queued while the queue is paused and the worker is started; the clock runs from resume() until no job is waiting or active (polled every 5 ms).',
          'Realtime jobs point at real events (student registrations through the API); no dashboard client is connected, so the broadcast has no local receivers.',
          'workerCpu is the share of its core the worker process used while draining.',
        ],
      }
    } finally {
      await world.close()
    }
  },
}
