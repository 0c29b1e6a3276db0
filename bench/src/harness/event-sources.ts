// What publishes one event in a scenario: a real student registration through the API (API -> PostgreSQL ->
// BullMQ -> worker -> room -> clients), or a POST to the bare ws server, which broadcasts at once. The
// student's name is the event's handle: it comes back in the activity_new summary on both paths.
import type { Queue } from 'bullmq'
import type { BenchWorld } from './bench-world.js'
import { keepAliveAgent, requestJson } from './json-request.js'
import type { PinnedProcess } from './pinned-process.js'
import { waitForQueueDrained } from './queue-drain.js'

export interface EventSource {
  /** Sends one event whose activity summary ends with `name`; true once it was accepted. */
  publish(name: string): Promise<boolean>
  /** Resolves once the effects of everything published so far are over (the queue drained). */
  settle(): Promise<void>
}

/** Student registrations in school A, as its owner, through `origin` (the API or a load balancer). */
export function studentRegistrations(world: BenchWorld, origin: string, queue: Queue): EventSource {
  const agent = keepAliveAgent(64)
  const url = `${origin}/api/accounts/schools/${world.fixture.schoolA.id}/students/`
  const headers = { authorization: `Bearer ${world.ownerToken}` }
  return {
    async publish(name) {
      const response = await requestJson(agent, url, 'POST', { name }, headers)
      return response.status === 201
    },
    async settle() {
      await waitForQueueDrained(queue, 120_000)
    },
  }
}

/**
 * POST /publish to a bare server: the bare ws server (servers/bare-ws-server.ts), which sends to all its
 * clients, or the bare Socket.IO server, which emits to the room of `schoolId`.
 */
export function barePublishes(bare: PinnedProcess, schoolId?: number): EventSource {
  const agent = keepAliveAgent(64)
  return {
    async publish(name) {
      const response = await requestJson(agent, `${bare.url}/publish`, 'POST', schoolId === undefined ? { name } : { name, schoolId })
      return response.status === 204
    },
    async settle() {},
  }
}
