// HTTP load for the ingest scenario, in this process so its CPU is accounted: a closed loop (N connections,
// each sending its next request when the last one answers; autocannon) and an open loop at a fixed arrival rate.
import type { Agent } from 'node:http'
import autocannon from 'autocannon'
import { startCpuWindow } from './generator-cpu.js'
import { requestJson } from './json-request.js'
import { runAtRate } from './paced-load.js'
import { percentile } from './statistics.js'

export interface LoadTarget {
  /** The server's origin, http://host:port. */
  origin: string
  /** A fixed path, or one chosen per request (e.g. spreading the load over many schools). */
  path: string | (() => string)
  headers: Record<string, string>
  /** The JSON body of each request, made anew for each (unique fields). */
  body: () => unknown
  expectStatus: number
  /** Keep-alive agent of the fixed-rate loop (the closed loop's connections are autocannon's). */
  agent: Agent
}

export interface LoadOutcome {
  requests: number
  /** Requests that did not end with `expectStatus`: other statuses, connection errors and timeouts. */
  errors: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  /** Responses by HTTP status. */
  statuses: Record<string, number>
  generatorCpu: number
}

const pathOf = (target: LoadTarget): string => (typeof target.path === 'string' ? target.path : target.path())

/** Latencies of the answers with the expected status: the percentiles are of successes only. */
function summarise(latencies: number[], statuses: Record<string, number>, failures: number, window: { wallMs: number; share: number }): LoadOutcome {
  const answered = Object.values(statuses).reduce((sum, count) => sum + count, 0)
  return {
    requests: answered + failures,
    errors: answered + failures - latencies.length,
    requestsPerSecond: latencies.length / (window.wallMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    statuses,
    generatorCpu: window.share,
  }
}

export async function closedLoop(target: LoadTarget, connections: number, seconds: number): Promise<LoadOutcome> {
  const latencies: number[] = []
  const cpu = startCpuWindow()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.origin,
        connections,
        duration: seconds,
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'application/json' },
        // setupRequest runs before each request is written: each gets its own path and body.
        requests: [{ setupRequest: (request) => ({ ...request, path: pathOf(target), body: JSON.stringify(target.body()) }) }],
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    )
    // The result's latency histogram has 1 ms resolution and mixes in other statuses; these are exact.
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === target.expectStatus) latencies.push(responseTime)
    })
  })
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, Number(count ?? 0)]))
  return summarise(latencies, statuses, result.errors, cpu())
}

/**
 * Sends `perSecond` requests at evenly spaced starts, each whether or not earlier ones have answered.
 * autocannon cannot do this: its `overallRate`/`connectionRate` is a quota per connection and second that
 * each connection sends back to back, one request after the other's answer, when the second begins
 * (50/s over 4 connections arrived as all 50 requests within the first 120 ms of each second, then nothing),
 * so its p99 would be that of a burst, not of the rate.
 */
export async function fixedRate(target: LoadTarget, perSecond: number, seconds: number): Promise<LoadOutcome> {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  const cpu = startCpuWindow()
  const outcome = await runAtRate(perSecond, seconds, async () => {
    const response = await requestJson(target.agent, `${target.origin}${pathOf(target)}`, 'POST', target.body(), target.headers)
    statuses[response.status] = (statuses[response.status] ?? 0) + 1
    if (response.status === target.expectStatus) latencies.push(response.ms)
  })
  const failures = outcome.results.filter((result) => result.status === 'rejected').length
  return summarise(latencies, statuses, failures, cpu())
}
