// Schedules this instance's projection passes: at most one pass per school at a time, the schools asked for
// in the same turn of the event loop advanced together in one pass, and a request for an event this
// instance has already seen applied answered without asking the database. A request may bring what it
// knows of its event (a job's copy of it); the pass gets what its school's requests brought.
import type { ProjectionAdvance } from '@school/dashboard'

export interface PassSummary {
  /** Sequence of the last event the school's projection includes after the pass. */
  lastSeq: number
  /** Events the pass applied, credited to the first request it answered (0 for the others). */
  applied: number
  /** Events the pass dead-lettered, credited like `applied`. */
  deadLettered: number
}

export interface ProjectionPasses<Carried> {
  /**
   * Resolves once a pass that started after this call has brought the school up to its log (or at once
   * when `seq` is known to be applied already); null when the school does not exist.
   */
  request(schoolId: number, seq?: number, carried?: Carried): Promise<PassSummary | null>
  /** The highest seq this instance has seen the school's projection reach (0 if never). */
  appliedThrough(schoolId: number): number
}

export interface ProjectionPassesOptions<Carried> {
  /**
   * Advances the schools' projections (the keys), each with what its requests brought; a school that does
   * not exist has no entry.
   */
  run(schools: ReadonlyMap<number, readonly Carried[]>): Promise<Map<number, ProjectionAdvance>>
  /** Bounds one pass's statements; more schools asked for at once are split over several passes. */
  maxSchoolsPerPass: number
}

interface Waiter<Carried> {
  seq: number | undefined
  carried: Carried | undefined
  resolve(summary: PassSummary | null): void
  reject(error: unknown): void
}

export function createProjectionPasses<Carried>(options: ProjectionPassesOptions<Carried>): ProjectionPasses<Carried> {
  type SchoolWaiters = Waiter<Carried>[]
  const applied = new Map<number, number>()
  /** Requests not yet taken by a pass, per school. */
  const waiting = new Map<number, SchoolWaiters>()
  /** Schools a pass is advancing now: their new requests wait for the next pass, which may see newer events. */
  const inFlight = new Set<number>()
  let scheduled = false

  const appliedThrough = (schoolId: number) => applied.get(schoolId) ?? 0

  /** The answer to a request for an event this instance has already seen applied; undefined otherwise. */
  const seenApplied = (schoolId: number, seq: number | undefined): PassSummary | undefined => {
    const through = appliedThrough(schoolId)
    return seq !== undefined && seq <= through ? { lastSeq: through, applied: 0, deadLettered: 0 } : undefined
  }

  const answer = (waiters: SchoolWaiters, result: ProjectionAdvance | undefined) => {
    waiters.forEach((waiter, index) => {
      if (!result) return waiter.resolve(null)
      const credited = index === 0
      waiter.resolve({
        lastSeq: result.lastSeq,
        applied: credited ? result.applied.length : 0,
        deadLettered: credited ? result.deadLettered.length : 0,
      })
    })
  }

  const runPass = async (batch: Map<number, SchoolWaiters>) => {
    const schoolIds = [...batch.keys()]
    const carried = new Map<number, Carried[]>()
    for (const [schoolId, waiters] of batch) {
      carried.set(schoolId, waiters.flatMap((waiter) => (waiter.carried === undefined ? [] : [waiter.carried])))
    }
    try {
      const results = await options.run(carried)
      for (const [schoolId, waiters] of batch) {
        const result = results.get(schoolId)
        if (result && result.lastSeq > appliedThrough(schoolId)) applied.set(schoolId, result.lastSeq)
        answer(waiters, result)
      }
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error)
    } finally {
      for (const schoolId of schoolIds) inFlight.delete(schoolId)
      if (waiting.size > 0) schedule()
    }
  }

  const flush = () => {
    scheduled = false
    let batch = new Map<number, SchoolWaiters>()
    for (const [schoolId, waiters] of waiting) {
      if (inFlight.has(schoolId)) continue
      waiting.delete(schoolId)
      // Requests for events the last pass already covered need no new one.
      const open: SchoolWaiters = []
      for (const waiter of waiters) {
        const seen = seenApplied(schoolId, waiter.seq)
        if (seen) waiter.resolve(seen)
        else open.push(waiter)
      }
      if (open.length === 0) continue
      inFlight.add(schoolId)
      batch.set(schoolId, open)
      if (batch.size === options.maxSchoolsPerPass) {
        void runPass(batch)
        batch = new Map()
      }
    }
    if (batch.size > 0) void runPass(batch)
  }

  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  return {
    appliedThrough,
    request(schoolId, seq, carried) {
      const seen = seenApplied(schoolId, seq)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const waiter = { seq, carried, resolve, reject }
        const waiters = waiting.get(schoolId)
        if (waiters) waiters.push(waiter)
        else waiting.set(schoolId, [waiter])
        schedule()
      })
    },
  }
}
