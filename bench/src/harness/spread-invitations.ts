// Load spread over many seeded schools, as a deployment sees it: the dashboards of every school (one per
// owner or admin, school by school) and windows of invitations POSTed at a fixed rate, round robin over the
// schools, each timed to every dashboard of its school. Shared by many-schools and latency's spread cells.
import type { FleetOptions, FleetTransport } from '../clients/dashboard-fleet.js'
import type { Pauses } from '../probes/pause-monitor.js'
import { signAccessToken } from './access-token.js'
import { startCpuWindow } from './generator-cpu.js'
import { InvitationDeliveries } from './invitation-deliveries.js'
import { keepAliveAgent, requestJson } from './json-request.js'
import { runAtRate } from './paced-load.js'
import { cpuShare, type PinnedProcess } from './pinned-process.js'
import type { SeededSchool } from './school-seed.js'
import { percentile } from './statistics.js'

/** The schools a load is spread over, and where the round robin stands. */
export interface SpreadSchools {
  schools: SeededSchool[]
  p: {
    /** Dashboards per school, one per member (owner first). */
    perSchool: number
    /** How long to wait for the last deliveries after the last POST was answered. */
    deliveryTimeoutMs: number
  }
  /** Invitations sent so far to these schools: the next one goes to school (sent % schools). */
  invitationsSent: number
}

/**
 * A fleet's `watch` handing every invitation_status_update to the window being measured (`observe` sets it,
 * as measureSpreadLoad does), with the index of the receiving dashboard's school.
 */
export function invitationWatch(perSchool: number): { watch: NonNullable<FleetOptions['watch']>; observe: (clock: InvitationDeliveries | undefined) => void } {
  let observing: InvitationDeliveries | undefined
  return {
    watch: { type: 'invitation_status_update', onMessage: (message, receivedAt, client) => observing?.observe(message, receivedAt, Math.floor(client / perSchool)) },
    observe: (clock) => (observing = clock),
  }
}

/** One dashboard per owner or admin, school by school; the i-th belongs to school floor(i / perSchool). */
export function spreadFleetOptions(
  context: SpreadSchools,
  transport: FleetTransport,
  urlOf: (school: SeededSchool) => string,
  count: number,
  connectionsPerSourceAddress?: number,
): FleetOptions {
  const { schools, p } = context
  const tokens = schools.map((school) => school.admins.map((admin) => signAccessToken(admin)))
  return {
    transport,
    url: '',
    schoolId: 0,
    token: undefined,
    count,
    sampled: 0,
    ...(connectionsPerSourceAddress === undefined ? {} : { connectionsPerSourceAddress }),
    endpointFor: (index) => {
      const school = schools[Math.floor(index / p.perSchool)]!
      return { url: urlOf(school), schoolId: school.id, token: tokens[Math.floor(index / p.perSchool)]![index % p.perSchool] }
    },
  }
}

/** Where the invitations of a window go, and whose CPU is recorded over it. */
export interface SpreadTarget {
  /** Origin answering `POST /api/accounts/schools/{id}/invitations/` (the api, or a baseline with the same route). */
  origin: string
  /**
   * Servers whose CPU share and pauses over the window are reported, as `<key>Cpu`, `<key>LoopP99Ms`, ... in
   * the detail, with the heap each used at its end (`<key>HeapUsedMb`).
   */
  servers: Record<string, PinnedProcess>
}

export interface LoadWindow {
  p50Ms: number
  p95Ms: number
  p99Ms: number
  maxMs: number
  deliveryRatio: number
  /** Per delivery, split at the envelope's `ts` (its emission on the server's wall clock, to the ms). */
  postToEmission: { p50Ms: number; p99Ms: number }
  emissionToReceipt: { p50Ms: number; p99Ms: number }
  detail: Record<string, unknown>
  generatorCpu: number
}

/** A server's pauses over a window as `<key>LoopP99Ms`, `<key>LoopMaxMs`, `<key>GcMs`, `<key>GcMaxMs`, `<key>GcMaxKind`. */
function pauseEntries(key: string, pauses: Pauses): Array<[string, number | string | null]> {
  return [
    [`${key}LoopP99Ms`, pauses.loopP99Ms],
    [`${key}LoopMaxMs`, pauses.loopMaxMs],
    [`${key}GcMs`, pauses.gcMs],
    [`${key}GcMaxMs`, pauses.gcMaxMs],
    [`${key}GcMaxKind`, pauses.gcMaxKind],
  ]
}

/** Sends `rate` invitations/s for `seconds`, round robin over the schools, and times their updates. */
export async function measureSpreadLoad(
  context: SpreadSchools,
  target: SpreadTarget,
  observe: (clock: InvitationDeliveries | undefined) => void,
  rate: number,
  seconds: number,
): Promise<LoadWindow> {
  const { schools, p } = context
  const invitations = Math.max(1, Math.round(rate * seconds))
  const first = context.invitationsSent
  context.invitationsSent += invitations
  const schoolOf = (index: number) => (first + index) % schools.length
  const clock = new InvitationDeliveries(invitations, schoolOf, p.perSchool)
  const ownerTokens = new Map<number, string>()
  const agent = keepAliveAgent(64)
  const postMs: number[] = []
  const statuses: Record<string, number> = {}
  const servers = Object.entries(target.servers)
  observe(clock)
  try {
    const serversBefore = await Promise.all(servers.map(([, server]) => server.probe()))
    const cpu = startCpuWindow()
    const outcome = await runAtRate(rate, seconds, async (index) => {
      const schoolIndex = schoolOf(index)
      const school = schools[schoolIndex]!
      let token = ownerTokens.get(schoolIndex)
      if (!token) ownerTokens.set(schoolIndex, (token = signAccessToken(school.admins[0]!)))
      const started = performance.now()
      clock.sentAt[index] = started
      const response = await requestJson(
        agent,
        `${target.origin}/api/accounts/schools/${school.id}/invitations/`,
        'POST',
        { email: clock.emailOf(index), role: 'teacher' },
        { authorization: `Bearer ${token}` },
      )
      postMs.push(performance.now() - started)
      statuses[response.status] = (statuses[response.status] ?? 0) + 1
      if (response.status !== 201) clock.sentAt[index] = Number.NaN
      return response.status === 201
    })
    const accepted = outcome.results.filter((result) => result.status === 'fulfilled' && result.value).length
    const expected = accepted * p.perSchool
    const allDelivered = await clock.waitFor(expected, p.deliveryTimeoutMs)
    const window = cpu()
    const serversAfter = await Promise.all(servers.map(([, server]) => server.probe()))
    const complete = clock.completeLatencies()
    const { histogram, toEmission, fromEmission } = clock
    const split = {
      postToEmission: { p50Ms: toEmission.percentile(50), p99Ms: toEmission.percentile(99) },
      emissionToReceipt: { p50Ms: fromEmission.percentile(50), p99Ms: fromEmission.percentile(99) },
    }
    return {
      p50Ms: histogram.percentile(50),
      p95Ms: histogram.percentile(95),
      p99Ms: histogram.percentile(99),
      maxMs: histogram.max,
      deliveryRatio: expected === 0 ? 0 : Math.min(1, histogram.count / expected),
      ...split,
      generatorCpu: window.share,
      detail: {
        invitationsPerSecond: rate,
        sent: invitations,
        accepted,
        statuses,
        failedPosts: outcome.results.filter((result) => result.status === 'rejected').length,
        expected,
        delivered: histogram.count,
        allDelivered,
        misdelivered: clock.misdelivered,
        duplicates: clock.duplicates,
        p95Ms: histogram.percentile(95),
        everyDashboardP50Ms: complete.percentile(50),
        everyDashboardP99Ms: complete.percentile(99),
        ...split,
        postP99Ms: percentile(postMs, 99),
        ...Object.fromEntries(servers.map(([key], i) => [`${key}Cpu`, cpuShare(serversBefore[i]!, serversAfter[i]!, window.wallMs)])),
        ...Object.fromEntries(servers.flatMap(([key], i) => pauseEntries(key, serversAfter[i]!.pauses))),
        // What a full collection has to mark: the heap in use when the window ended.
        ...Object.fromEntries(servers.map(([key], i) => [`${key}HeapUsedMb`, serversAfter[i]!.heapUsed / 2 ** 20])),
      },
    }
  } finally {
    observe(undefined)
    agent.destroy()
  }
}
