// Readiness: every dependency answered a cheap probe within a deadline. Used by /readyz and by the
// `dependency_up` gauge, so the load balancer and the dashboards judge by the same checks.

/** Probes by dependency name, e.g. `{ database: () => prisma.$queryRaw\`SELECT 1\`, redis: () => redis.ping() }`. */
export type DependencyChecks = Record<string, () => Promise<unknown>>

export interface Readiness {
  ready: boolean
  /** `ok`, or why the probe failed (never a secret: messages of connection errors only). */
  checks: Record<string, string>
}

function withDeadline<T>(probe: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([probe, deadline]).finally(() => clearTimeout(timer))
}

/**
 * A dependency slower than this counts as down. Generous on purpose: a loaded host answering `SELECT 1` in
 * over a second is slow, not down, and an instance reported unready is taken out by the load balancer
 * (deploy/haproxy waits up to 3 s for the answer).
 */
export const READINESS_DEADLINE_MS = 2000

export async function checkReadiness(checks: DependencyChecks, timeoutMs = READINESS_DEADLINE_MS): Promise<Readiness> {
  const names = Object.keys(checks)
  const results = await Promise.allSettled(names.map((name) => withDeadline(Promise.resolve().then(checks[name]!), timeoutMs)))
  const readiness: Readiness = { ready: true, checks: {} }
  for (const [index, name] of names.entries()) {
    const result = results[index]!
    if (result.status === 'fulfilled') {
      readiness.checks[name] = 'ok'
    } else {
      readiness.ready = false
      const reason = result.reason instanceof Error ? result.reason.message : String(result.reason)
      // First line only: driver errors can be long; URLs are never part of these messages.
      readiness.checks[name] = reason.split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 200) ?? 'failed'
    }
  }
  return readiness
}
