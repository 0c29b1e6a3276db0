import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createPrismaClient } from '@school/db'
import { createFixture, createTestDatabase } from '@school/test-support'
import { waitUntilBlockedOnLock } from '@school/db/testing'
import { createInvitationStatement, type InvitationStatementInput } from '../../src/domain/invitation-statement.js'

const database = await createTestDatabase('api_invite_statement')
t.teardown(database.drop)
const prisma = createPrismaClient(database.url, { maxConnections: 4 })
t.teardown(() => prisma.$disconnect())
const fixture = await createFixture(prisma)

const input = (email: string, quota = 1000): InvitationStatementInput => ({
  schoolId: fixture.schoolA.id,
  actorId: fixture.ownerA.id,
  sessionId: undefined,
  email,
  role: 'teacher',
  message: null,
  tokenHash: randomUUID(),
  expiresAt: new Date(Date.now() + 86_400_000),
  eventId: randomUUID(),
  correlationId: 'req-1',
  quota,
  now: new Date(),
})

t.test('creates the invitation and its event with the next seq, in one statement', async (t) => {
  const seqBefore = (await prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })).lastEventSeq
  const given = input('one@example.com')
  const outcome = await createInvitationStatement(prisma, given)
  if (outcome.kind !== 'created') throw new Error(`not created: ${outcome.kind}`)
  t.same(outcome.invitation, await prisma.invitation.findUniqueOrThrow({ where: { id: outcome.invitation.id } }), 'the row as Prisma reads it')
  const event = await prisma.domainEvent.findUniqueOrThrow({ where: { id: given.eventId }, include: { actor: { select: { id: true, name: true } } } })
  t.same(
    { seq: event.seq, type: event.type, actorId: event.actorId, payload: event.payload, correlationId: event.correlationId },
    {
      seq: seqBefore + 1,
      type: 'invitation.created',
      actorId: fixture.ownerA.id,
      payload: { invitationId: outcome.invitation.id, email: 'one@example.com', role: 'teacher', status: 'pending' },
      correlationId: 'req-1',
    },
  )
  t.same(
    outcome.event,
    {
      id: given.eventId,
      schoolId: fixture.schoolA.id,
      seq: seqBefore + 1,
      type: 'invitation.created',
      occurredAt: given.now,
      content: { actor: event.actor, payload: event.payload, correlationId: event.correlationId },
    },
    'the event as written, with what its job carries',
  )
})

t.test('a statement that read its snapshot before a rival committed is stopped by the one-pending index', async (t) => {
  // A rival's pending invitation for the same email, inserted but not committed while ours runs.
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let inserted!: () => void
  const rivalInserted = new Promise<void>((resolve) => (inserted = resolve))
  const rival = prisma.$transaction(async (tx) => {
    await tx.$executeRaw`INSERT INTO invitations (school_id, email, role, token_hash, expires_at, updated_at)
      VALUES (${fixture.schoolA.id}, 'rival@example.com', 'teacher', ${randomUUID()}, now() + interval '1 day', now())`
    inserted()
    await released
  })
  await rivalInserted
  const seqBefore = (await prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })).lastEventSeq
  const ours = createInvitationStatement(prisma, input('rival@example.com'))
  // Ours cannot see the rival's row, passes its checks and waits on the index entry until the rival commits.
  let settled = false
  void ours.finally(() => (settled = true))
  // The database says when ours is blocked on the rival's uncommitted index entry.
  await waitUntilBlockedOnLock(prisma, 'WITH access AS')
  t.equal(settled, false, 'ours waits for the rival')
  release()
  await rival
  t.same(await ours, { kind: 'pending' })
  t.equal((await prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })).lastEventSeq, seqBefore, 'the refused statement took no seq')
})

t.test('refusals take nothing: member, quota, pending, lapsed and unknown school', async (t) => {
  await createInvitationStatement(prisma, input('pending@example.com'))
  await prisma.$executeRaw`INSERT INTO invitations (school_id, email, role, token_hash, expires_at, updated_at)
    VALUES (${fixture.schoolA.id}, 'lapsed@example.com', 'teacher', ${randomUUID()}, now() - interval '1 minute', now())`
  const seqBefore = (await prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })).lastEventSeq
  const recent = await prisma.invitation.count({ where: { schoolId: fixture.schoolA.id } })
  t.same(await createInvitationStatement(prisma, input(fixture.teacherA.email)), { kind: 'member' })
  t.same(await createInvitationStatement(prisma, input('over@example.com', recent)), { kind: 'quota' })
  t.same(await createInvitationStatement(prisma, input('pending@example.com')), { kind: 'pending' })
  t.same(await createInvitationStatement(prisma, input('lapsed@example.com')), { kind: 'lapsed' })
  t.same(await createInvitationStatement(prisma, { ...input('nowhere@example.com'), schoolId: 999_999 }), { kind: 'no_school' })
  t.equal((await prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })).lastEventSeq, seqBefore)
})

t.test("the caller's access is checked in the same statement, in the school routes' order, and a refusal takes nothing", async (t) => {
  const seqBefore = (await prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })).lastEventSeq
  const as = (actorId: number, sessionId?: string) => ({ ...input(`access-${randomUUID()}@example.com`), actorId, sessionId })
  const live = randomUUID()
  const ended = randomUUID()
  const inADay = new Date(Date.now() + 86_400_000)
  for (const [id, revokedAt] of [[live, null], [ended, new Date()]] as const) {
    await prisma.session.create({ data: { id, userId: fixture.ownerA.id, expiresAt: inADay, idleExpiresAt: inADay, revokedAt } })
  }
  t.same(await createInvitationStatement(prisma, as(999_999)), { kind: 'no_user' }, 'an account that no longer exists')
  t.same(await createInvitationStatement(prisma, { ...as(999_999), schoolId: 999_999 }), { kind: 'no_user' }, 'the account is told first')
  t.same(await createInvitationStatement(prisma, as(fixture.ownerA.id, ended)), { kind: 'session_ended' }, 'a signed-out session')
  t.same(await createInvitationStatement(prisma, as(fixture.ownerA.id, randomUUID())), { kind: 'session_ended' }, 'an unknown session')
  t.same(await createInvitationStatement(prisma, as(fixture.teacherA.id)), { kind: 'forbidden' }, 'a teacher')
  t.same(await createInvitationStatement(prisma, as(fixture.outsider.id)), { kind: 'forbidden' }, 'someone of no school')
  t.same(await createInvitationStatement(prisma, as(fixture.ownerB.id)), { kind: 'forbidden' }, "another school's owner")
  t.same(await createInvitationStatement(prisma, { ...as(fixture.teacherA.id), schoolId: 999_999 }), { kind: 'no_school' }, 'no school before no role')
  t.equal((await prisma.school.findUniqueOrThrow({ where: { id: fixture.schoolA.id } })).lastEventSeq, seqBefore, 'no refusal took a seq')
  t.equal(await prisma.invitation.count({ where: { email: { startsWith: 'access-' } } }), 0, 'nor wrote an invitation')
  t.match(await createInvitationStatement(prisma, as(fixture.adminA.id)), { kind: 'created' }, 'an admin may')
  t.match(await createInvitationStatement(prisma, as(fixture.ownerA.id, live)), { kind: 'created' }, 'an owner with a live session may')
})
