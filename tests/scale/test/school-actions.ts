// What an owner does through the API to make domain events happen, and how a test checks what each
// dashboard client then received against the school's event log.
import type { AnyEnvelope } from '@school/events'
import type { PrismaClient } from '@school/db'
import type { DashboardClient } from '@school/test-support/system'
import type { ScaledSystem } from './scaled-system.js'

export type Action = 'invite' | 'register-student' | 'create-class'

/** Performs one action in the school and checks the API accepted it; each causes exactly one event. */
export async function perform(system: ScaledSystem, token: string, schoolId: number, action: Action, n: number): Promise<void> {
  const base = `/api/accounts/schools/${schoolId}`
  const [path, body] =
    action === 'invite'
      ? [`${base}/invitations/`, { email: `person-${schoolId}-${n}@example.com`, role: 'teacher' }]
      : action === 'register-student'
        ? [`${base}/students/`, { name: `Student ${schoolId}-${n}` }]
        : [`${base}/classes/`, { name: `Class ${schoolId}-${n}` }]
  const { status, body: answer } = await system.request('POST', path, { token, body })
  if (status !== 201) throw new Error(`${action} in school ${schoolId} answered ${status}: ${JSON.stringify(answer)}`)
}

/** Performs `count` actions one after the other (the API's answer awaited, not the delivery). */
export async function performMany(system: ScaledSystem, token: string, schoolId: number, count: number, from = 0): Promise<void> {
  const actions: Action[] = ['invite', 'register-student', 'create-class']
  for (let n = from; n < from + count; n++) await perform(system, token, schoolId, actions[n % actions.length]!, n)
}

/** The school's event log after `afterSeq`: ids in seq order, which are invitation events, the last seq. */
export async function eventLog(
  prisma: PrismaClient,
  schoolId: number,
  afterSeq = 0,
): Promise<{ ids: string[]; invitationIds: string[]; lastSeq: number; summary: string }> {
  const rows = await prisma.domainEvent.findMany({
    where: { schoolId, seq: { gt: afterSeq } },
    orderBy: { seq: 'asc' },
    select: { id: true, type: true, seq: true },
  })
  return {
    ids: rows.map((row) => row.id),
    invitationIds: rows.filter((row) => row.type.startsWith('invitation.')).map((row) => row.id),
    lastSeq: rows.at(-1)?.seq ?? afterSeq,
    summary: rows.map((row) => `${row.seq}:${row.type}`).join(' '),
  }
}

/** Resolves once the client holds an `activity_new` for every seq from `firstSeq` to `lastSeq`. */
export async function awaitActivities(client: DashboardClient, firstSeq: number, lastSeq: number, ms = 15_000): Promise<void> {
  for (let seq = firstSeq; seq <= lastSeq; seq++) {
    await client.inbox.waitFor((m) => m.type === 'activity_new' && m.seq === seq, `activity_new seq ${seq} on ${client.kind}`, ms)
  }
}

/** The event ids of a client's messages of one type with a seq above `afterSeq`, in arrival order. */
export function eventIdsOf(client: DashboardClient, type: AnyEnvelope['type'], afterSeq = 0): string[] {
  return client.inbox.messages.filter((m) => m.type === type && m.eventId !== undefined && m.seq! > afterSeq).map((m) => m.eventId!)
}

/** The seqs of every message a client received because of an event (or of one type), in arrival order. */
export function seqsOf(client: DashboardClient, type?: AnyEnvelope['type']): number[] {
  return client.inbox.messages.filter((m) => m.eventId !== undefined && (type === undefined || m.type === type)).map((m) => m.seq!)
}
