// HTTP load for the ingest scenario, in this process so its CPU is accounted: a closed loop (N connections,
// each sending its next request when the last one answers) and an open loop at a fixed arrival rate.
import type { Agent } from 'node:http'
import { startCpuWindow } from './generator-cpu.js'
import { requestJson, type JsonResponse } from './json-request.js'
import { runAtRate } from './paced-load.js'
import { percentile } from './statistics.js'

export interface LoadTarget {
  agent: Agent
  /** A fixed URL, or one chosen per request (e.g. spreading the load over many schools). */
  url: string | (() => string)
  headers: Record<string, string>
  body: () => unknown
  expectStatus: number
}

export interface LoadOutcome {
  requests: number
  errors: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  generatorCpu: number
}

const urlOf = (target: LoadTarget): string => (typeof target.url === 'string' ? target.url : target.url())

function summarise(responses: Array<JsonResponse | undefined>, expectStatus: number, wallMs: number, generatorCpu: number): LoadOutcome {
  const ok = responses.filter((response): response is JsonResponse => response?.status === expectStatus)
  const latencies = ok.map((response) => response.ms)
  return {
    requests: responses.length,
    errors: responses.length - ok.length,
    requestsPerSecond: ok.length / (wallMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    generatorCpu,
  }
}

export async function closedLoop(target: LoadTarget, connections: number, seconds: number): Promise<LoadOutcome> {
  const responses: Array<JsonResponse | undefined> = []
  const cpu = startCpuWindow()
  const deadline = performance.now() + seconds * 1000
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        responses.push(await requestJson(target.agent, urlOf(target), 'POST', target.body(), target.headers).catch(() => undefined))
      }
    }),
  )
  const window = cpu()
  return summarise(responses, target.expectStatus, window.wallMs, window.share)
}

export async function fixedRate(target: LoadTarget, perSecond: number, seconds: number): Promise<LoadOutcome> {
  const cpu = startCpuWindow()
  const outcome = await runAtRate(perSecond, seconds, () => requestJson(target.agent, urlOf(target), 'POST', target.body(), target.headers))
  const window = cpu()
  const responses = outcome.results.map((result) => (result.status === 'fulfilled' ? result.value : undefined))
  return summarise(responses, target.expectStatus, window.wallMs, window.share)
}
