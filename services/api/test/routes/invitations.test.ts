// Invitations from sending to answering: the token in the link is the invitee's only credential, each
// status change happens once, and a lapsed invitation is expired rather than answered.
import { createHash } from 'node:crypto'
import t from 'tap'
import { buildTestApp, eventsOf, tokenOf } from '../helper.js'

const { app, fixture, prisma, queue, authFor } = await buildTestApp(t)
const schoolA = fixture.schoolA.id
const invitations = `/api/accounts/schools/${schoolA}/invitations/`
const owner = authFor(fixture.ownerA)

async function invite(email: string, role = 'teacher', extra: Record<string, unknown> = {}) {
  const response = await app.inject({ method: 'POST', url: invitations, headers: owner, payload: { email, role, ...extra } })
  if (response.statusCode !== 201) throw new Error(`invite ${email}: ${response.statusCode} ${response.body}`)
  const body = response.json()
  return { body, token: tokenOf(body.acceptUrl) }
}

function accept(token: string, payload: Record<string, unknown> = { name: 'Nina Newteacher', password: 'a-good-password' }) {
  return app.inject({ method: 'POST', url: `/api/accounts/invitations/${token}/accept/`, payload })
}

function decline(token: string, options: { payload?: string | Record<string, unknown>; headers?: Record<string, string> } = {}) {
  return app.inject({ method: 'POST', url: `/api/accounts/invitations/${token}/decline/`, ...options })
}

/** The invitation as every answer but creation shows it: without the link. */
function withStatus(created: Record<string, unknown>, status: string) {
  const { acceptUrl: _link, ...invitation } = created
  return { ...invitation, status }
}

async function lapse(invitationId: number) {
  await prisma.$executeRaw`UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = ${invitationId}`
}

t.test('an admin invites an email: 201 with the invitation and a link whose token only the link holds', async (t) => {
  const before = Date.now()
  const response = await app.inject({
    method: 'POST',
    url: invitations,
    headers: authFor(fixture.adminA),
    payload: { email: 'New.Teacher@Example.COM', role: 'teacher', message: 'Welcome aboard!' },
  })
  t.equal(response.statusCode, 201)
  const body = response.json()
  const row = await prisma.invitation.findUniqueOrThrow({ where: { id: body.id } })
  const token = tokenOf(body.acceptUrl)
  t.same(body, {
    id: row.id,
    schoolId: schoolA,
    email: 'new.teacher@example.com',
    role: 'teacher',
    message: 'Welcome aboard!',
    status: 'pending',
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    acceptUrl: `http://school.test/api/accounts/invitations/${token}/accept/`,
  })
  t.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url')
  t.equal(row.tokenHash, createHash('sha256').update(token).digest('hex'), 'only the SHA-256 of the token is stored')
  t.equal(row.invitedById, fixture.adminA.id)
  const ttl = row.expiresAt.getTime() - row.createdAt.getTime()
  t.ok(Math.abs(ttl - 168 * 3600_000) < 1000, 'expires INVITATION_TTL_HOURS (168) after creation')
  t.ok(row.createdAt.getTime() >= before - 1000)

  const accepted = await accept(token)
  t.equal(accepted.statusCode, 200, 'the token in acceptUrl works as is')
})

t.test('a second pending invitation for the same email in the same school is 409 invitation_pending', async (t) => {
  await invite('twice@example.com')
  const again = await app.inject({ method: 'POST', url: invitations, headers: owner, payload: { email: 'TWICE@example.com', role: 'student' } })
  t.equal(again.statusCode, 409)
  t.same(again.json(), { code: 'invitation_pending', message: 'A pending invitation for this email already exists in this school' })
  const otherSchool = await app.inject({
    method: 'POST',
    url: `/api/accounts/schools/${fixture.schoolB.id}/invitations`,
    headers: authFor(fixture.ownerB),
    payload: { email: 'twice@example.com', role: 'teacher' },
  })
  t.equal(otherSchool.statusCode, 201, 'another school may invite the same email')
})

t.test('racing invitations for one email: exactly one is created, the others are 409, and the log has no gap', async (t) => {
  const seqBefore = (await prisma.school.findUniqueOrThrow({ where: { id: schoolA } })).lastEventSeq
  const attempts = await Promise.all(
    Array.from({ length: 8 }, () => app.inject({ method: 'POST', url: invitations, headers: owner, payload: { email: 'race@example.com', role: 'teacher' } })),
  )
  t.same(attempts.map((a) => a.statusCode).sort(), [201, 409, 409, 409, 409, 409, 409, 409])
  for (const refused of attempts.filter((a) => a.statusCode === 409)) t.equal(refused.json().code, 'invitation_pending')
  t.equal(await prisma.invitation.count({ where: { schoolId: schoolA, email: 'race@example.com' } }), 1)
  const events = await eventsOf(prisma, schoolA)
  t.same(
    events.filter((e) => e.seq > seqBefore).map((e) => [e.seq, e.type]),
    [[seqBefore + 1, 'invitation.created']],
  )
  t.equal((await prisma.school.findUniqueOrThrow({ where: { id: schoolA } })).lastEventSeq, seqBefore + 1, 'no seq was taken by a refused one')
})

t.test('inviting a member of the school is 409 already_member', async (t) => {
  const response = await app.inject({ method: 'POST', url: invitations, headers: owner, payload: { email: 'Teacher-A@fixture.test', role: 'school_admin' } })
  t.equal(response.statusCode, 409)
  t.same(response.json(), { code: 'already_member', message: 'A user with this email is already a member of this school' })
})

t.test('refuses bad invitation bodies with the fields at fault', async (t) => {
  const cases: Array<[string, Record<string, unknown>, Array<{ field: string; message: string }>]> = [
    ['an owner role', { email: 'o@example.com', role: 'school_owner' }, [{ field: 'role', message: 'must be one of school_admin, teacher, student' }]],
    ['a malformed email', { email: 'not-an-email', role: 'teacher' }, [{ field: 'email', message: 'must match format "email"' }]],
    ['an email over 254 characters', { email: `${'a'.repeat(250)}@example.com`, role: 'teacher' }, [{ field: 'email', message: 'must not have more than 254 characters' }]],
    ['a message over 1000 characters', { email: 'm@example.com', role: 'teacher', message: 'x'.repeat(1001) }, [{ field: 'message', message: 'must not have more than 1000 characters' }]],
    ['an unknown field', { email: 'u@example.com', role: 'teacher', schoolId: 2 }, [{ field: 'schoolId', message: 'is not allowed' }]],
    ['no fields', {}, [{ field: 'email', message: 'is required' }, { field: 'role', message: 'is required' }]],
  ]
  for (const [name, payload, errors] of cases) {
    const response = await app.inject({ method: 'POST', url: invitations, headers: owner, payload })
    t.equal(response.statusCode, 400, name)
    t.same(response.json(), { code: 'validation_failed', message: 'Invalid request body', errors }, name)
  }
})

t.test('accepting creates the user, who can then sign in, and the membership with the invited role', async (t) => {
  const { body: invitation, token } = await invite('Ana@Example.com', 'school_admin')
  const response = await accept(token, { name: '  Ana Admin ', password: 'ana-password' })
  t.equal(response.statusCode, 200)
  const user = await prisma.user.findUniqueOrThrow({ where: { email: 'ana@example.com' } })
  const row = await prisma.invitation.findUniqueOrThrow({ where: { id: invitation.id } })
  t.same(response.json(), {
    invitation: withStatus(invitation, 'accepted'),
    user: { id: user.id, email: 'ana@example.com', name: 'Ana Admin' },
    membership: { schoolId: schoolA, role: 'school_admin' },
  })
  t.equal(row.status, 'accepted')
  t.ok(row.respondedAt, 'respondedAt is recorded')
  t.not(user.passwordHash, 'ana-password')
  t.match(user.passwordHash, /^\$argon2id\$/, 'the password is stored as an Argon2id hash')
  const membership = await prisma.membership.findUniqueOrThrow({ where: { userId_schoolId: { userId: user.id, schoolId: schoolA } } })
  t.equal(membership.role, 'school_admin')

  const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'ana@example.com', password: 'ana-password' } })
  t.equal(login.statusCode, 200)
  t.same(login.json().user.memberships, [{ schoolId: schoolA, schoolName: 'School A', role: 'school_admin' }])
  const dashboard = await app.inject({
    method: 'GET',
    url: `/api/accounts/schools/${schoolA}/dashboard`,
    headers: { authorization: `Bearer ${login.json().token}` },
  })
  t.equal(dashboard.statusCode, 200, 'the new admin administers the school')
})

t.test('accepting twice, or declining an accepted invitation, is 409 invitation_not_pending', async (t) => {
  const { token } = await invite('once@example.com')
  t.equal((await accept(token)).statusCode, 200)
  const again = await accept(token)
  t.equal(again.statusCode, 409)
  t.same(again.json(), { code: 'invitation_not_pending', message: 'The invitation is no longer pending: it was accepted' })
  const declined = await decline(token)
  t.equal(declined.statusCode, 409)
  t.same(declined.json(), { code: 'invitation_not_pending', message: 'The invitation is no longer pending: it was accepted' })
})

t.test('an existing user accepts with their own password; the name sent is ignored', async (t) => {
  const { body: invitation, token } = await invite(fixture.ownerB.email, 'teacher')
  const wrong = await accept(token, { name: 'Someone Else', password: 'not-their-password' })
  t.equal(wrong.statusCode, 401)
  t.same(wrong.json(), { code: 'invalid_credentials', message: 'Invalid email or password' })
  t.equal((await prisma.invitation.findUniqueOrThrow({ where: { id: invitation.id } })).status, 'pending', 'still pending')

  const right = await accept(token, { name: 'Someone Else', password: fixture.ownerB.password })
  t.equal(right.statusCode, 200)
  t.same(right.json().user, { id: fixture.ownerB.id, email: fixture.ownerB.email, name: 'Bruno Owner' })
  t.same(right.json().membership, { schoolId: schoolA, role: 'teacher' })
  t.equal(await prisma.user.count({ where: { email: fixture.ownerB.email } }), 1, 'no second account')
  const memberships = await prisma.membership.findMany({ where: { userId: fixture.ownerB.id }, orderBy: { schoolId: 'asc' } })
  t.same(memberships.map((m) => [m.schoolId, m.role]), [[schoolA, 'teacher'], [fixture.schoolB.id, 'school_owner']])
})

t.test('an account without a password cannot be claimed through an invitation', async (t) => {
  const student = await prisma.user.create({ data: { email: 'passwordless@example.com', name: 'Pat Passwordless' } })
  const { token } = await invite('passwordless@example.com', 'teacher')
  const response = await accept(token, { name: 'Mallory', password: 'any-password' })
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'invalid_credentials')
  t.equal((await prisma.user.findUniqueOrThrow({ where: { id: student.id } })).passwordHash, null)
})

t.test('refuses bad accept bodies with the fields at fault', async (t) => {
  const { token } = await invite('body@example.com')
  const cases: Array<[string, Record<string, unknown>, Array<{ field: string; message: string }>]> = [
    ['a short password', { name: 'A', password: 'short' }, [{ field: 'password', message: 'must not have fewer than 8 characters' }]],
    ['a password over 128', { name: 'A', password: 'p'.repeat(129) }, [{ field: 'password', message: 'must not have more than 128 characters' }]],
    ['a blank name', { name: '   ', password: 'long-enough' }, [{ field: 'name', message: 'must match pattern "\\S"' }]],
    ['a name over 100', { name: 'n'.repeat(101), password: 'long-enough' }, [{ field: 'name', message: 'must not have more than 100 characters' }]],
    ['an unknown field', { name: 'A', password: 'long-enough', role: 'school_owner' }, [{ field: 'role', message: 'is not allowed' }]],
  ]
  for (const [name, payload, errors] of cases) {
    const response = await accept(token, payload)
    t.equal(response.statusCode, 400, name)
    t.same(response.json(), { code: 'validation_failed', message: 'Invalid request body', errors }, name)
  }
})

t.test('declining takes no body, an empty one or {}, and answers with the declined invitation', async (t) => {
  const first = await invite('no-body@example.com')
  const none = await decline(first.token)
  t.equal(none.statusCode, 200)
  t.same(none.json(), { invitation: withStatus(first.body, 'declined') })
  const row = await prisma.invitation.findUniqueOrThrow({ where: { id: first.body.id } })
  t.equal(row.status, 'declined')
  t.ok(row.respondedAt)

  const second = await invite('empty-body@example.com')
  const empty = await decline(second.token, { headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 200, 'Content-Type: application/json with an empty body')
  const third = await invite('empty-object@example.com')
  t.equal((await decline(third.token, { payload: {} })).statusCode, 200, '{}')

  const fourth = await invite('with-body@example.com')
  const withField = await decline(fourth.token, { payload: { reason: 'busy' } })
  t.equal(withField.statusCode, 400)
  t.equal(withField.json().code, 'validation_failed')

  const twice = await decline(first.token)
  t.equal(twice.statusCode, 409)
  t.same(twice.json(), { code: 'invitation_not_pending', message: 'The invitation is no longer pending: it was declined' })
  t.equal((await accept(first.token)).statusCode, 409, 'a declined invitation cannot be accepted')
})

t.test('an admin cancels a pending invitation of their school', async (t) => {
  const { body, token } = await invite('cancel-me@example.com', 'student')
  const response = await app.inject({ method: 'DELETE', url: `${invitations}${body.id}/`, headers: authFor(fixture.adminA) })
  t.equal(response.statusCode, 200)
  t.same(response.json(), withStatus(body, 'cancelled'))

  const again = await app.inject({ method: 'DELETE', url: `${invitations}${body.id}`, headers: owner })
  t.equal(again.statusCode, 409)
  t.same(again.json(), { code: 'invitation_not_pending', message: 'The invitation is no longer pending: it was cancelled' })
  const accepted = await accept(token)
  t.equal(accepted.statusCode, 409)
  t.equal(accepted.json().message, 'The invitation is no longer pending: it was cancelled')

  const elsewhere = await app.inject({
    method: 'DELETE',
    url: `/api/accounts/schools/${fixture.schoolB.id}/invitations/${body.id}/`,
    headers: authFor(fixture.ownerB),
  })
  t.equal(elsewhere.statusCode, 404, "another school's admin cannot reach it")
  t.same(elsewhere.json(), { code: 'invitation_not_found', message: 'Invitation not found' })
  const missing = await app.inject({ method: 'DELETE', url: `${invitations}2147483647/`, headers: owner })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'invitation_not_found')
})

t.test('an unknown or malformed token is 404 invitation_not_found, without a database error', async (t) => {
  const tokens = ['x', 'A'.repeat(43), `${'A'.repeat(42)}!`, 'A'.repeat(44), encodeURIComponent("' OR 1=1 --"), '%00']
  for (const token of tokens) {
    for (const send of [accept, decline]) {
      const response = await send(token)
      t.equal(response.statusCode, 404, `${send.name} ${token}`)
      t.same(response.json(), { code: 'invitation_not_found', message: 'Invitation not found' })
    }
  }
})

t.test('a lapsed invitation is 410 invitation_expired, and is marked expired with its event once', async (t) => {
  const { body, token } = await invite('late@example.com')
  await lapse(body.id)
  const seqBefore = (await prisma.school.findUniqueOrThrow({ where: { id: schoolA } })).lastEventSeq

  const response = await accept(token)
  t.equal(response.statusCode, 410)
  t.same(response.json(), { code: 'invitation_expired', message: 'The invitation has expired' })
  t.equal((await prisma.invitation.findUniqueOrThrow({ where: { id: body.id } })).status, 'expired')
  t.equal(await prisma.user.count({ where: { email: 'late@example.com' } }), 0, 'no user was created')
  const events = await eventsOf(prisma, schoolA)
  t.same(
    events.slice(-1).map((e) => [e.seq, e.type, e.actorId, e.payload]),
    [[seqBefore + 1, 'invitation.expired', null, { invitationId: body.id, email: 'late@example.com', role: 'teacher', status: 'expired' }]],
  )

  const again = await decline(token)
  t.equal(again.statusCode, 410, 'still 410 once marked expired')
  t.equal((await eventsOf(prisma, schoolA)).length, events.length, 'and no second event')

  const declined = await invite('late-decline@example.com')
  await lapse(declined.body.id)
  t.equal((await decline(declined.token)).statusCode, 410, 'declining a lapsed invitation is 410 too')
  t.equal((await prisma.invitation.findUniqueOrThrow({ where: { id: declined.body.id } })).status, 'expired')
})

t.test('cancelling a lapsed invitation marks it expired and is 409', async (t) => {
  const { body } = await invite('lapsed-cancel@example.com')
  await lapse(body.id)
  const response = await app.inject({ method: 'DELETE', url: `${invitations}${body.id}/`, headers: owner })
  t.equal(response.statusCode, 409)
  t.same(response.json(), { code: 'invitation_not_pending', message: 'The invitation is no longer pending: it was expired' })
  t.equal((await prisma.invitation.findUniqueOrThrow({ where: { id: body.id } })).status, 'expired')
  t.equal((await eventsOf(prisma, schoolA)).at(-1)?.type, 'invitation.expired')
})

t.test('inviting again after the pending invitation lapsed expires it first, then creates the new one', async (t) => {
  const old = await invite('again@example.com')
  await lapse(old.body.id)
  const seqBefore = (await prisma.school.findUniqueOrThrow({ where: { id: schoolA } })).lastEventSeq
  const fresh = await invite('again@example.com', 'student')
  t.equal(fresh.body.status, 'pending')
  t.equal((await prisma.invitation.findUniqueOrThrow({ where: { id: old.body.id } })).status, 'expired')
  const events = await eventsOf(prisma, schoolA)
  t.same(
    events.slice(-2).map((e) => [e.seq, e.type, e.actorId]),
    [
      [seqBefore + 1, 'invitation.expired', null],
      [seqBefore + 2, 'invitation.created', fixture.ownerA.id],
    ],
  )
})

t.test("each event's job carries the event as the log holds it, whichever way the change was written", async (t) => {
  const from = (await prisma.school.findUniqueOrThrow({ where: { id: schoolA } })).lastEventSeq
  const lapsing = await invite('carried-lapsed@example.com')
  await lapse(lapsing.body.id)
  // One statement for the creation; a transaction for the expiry, the acceptance and the cancellation.
  await invite('carried-lapsed@example.com', 'student')
  const accepted = await invite('carried-accepted@example.com')
  t.equal((await accept(accepted.token)).statusCode, 200)
  const cancelled = await invite('carried-cancelled@example.com')
  t.equal((await app.inject({ method: 'DELETE', url: `${invitations}${cancelled.body.id}/`, headers: owner })).statusCode, 200)

  const events = await prisma.domainEvent.findMany({
    where: { schoolId: schoolA, seq: { gt: from } },
    orderBy: { seq: 'asc' },
    include: { actor: { select: { id: true, name: true } } },
  })
  t.same(
    events.map((event) => event.type),
    ['invitation.created', 'invitation.expired', 'invitation.created', 'invitation.created', 'invitation.accepted', 'invitation.created', 'invitation.cancelled'],
  )
  for (const event of events) {
    const job = await queue.getJob(event.id)
    t.same(
      job?.data,
      {
        eventId: event.id,
        schoolId: schoolA,
        seq: event.seq,
        type: event.type,
        occurredAt: event.occurredAt.toISOString(),
        event: { actor: event.actor, payload: event.payload, correlationId: event.correlationId },
      },
      `${event.type} (seq ${event.seq})`,
    )
  }
})

t.test('lists the school invitations newest first, without tokens, optionally by status', async (t) => {
  const all = await app.inject({ method: 'GET', url: invitations, headers: owner })
  t.equal(all.statusCode, 200)
  const rows = await prisma.invitation.findMany({ where: { schoolId: schoolA }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] })
  const now = Date.now()
  t.same(
    all.json(),
    rows.map((row) => ({
      id: row.id,
      schoolId: schoolA,
      email: row.email,
      role: row.role,
      message: row.message,
      status: row.status === 'pending' && row.expiresAt.getTime() <= now ? 'expired' : row.status,
      expiresAt: row.expiresAt.toISOString(),
      createdAt: row.createdAt.toISOString(),
    })),
  )
  t.ok(all.json().every((i: Record<string, unknown>) => !('acceptUrl' in i) && !('tokenHash' in i)), 'no token or link in the list')
  t.notOk(all.json().some((i: { schoolId: number }) => i.schoolId !== schoolA), "no other school's invitations")

  const pending = await app.inject({ method: 'GET', url: `${invitations}?status=pending`, headers: owner })
  t.same(
    pending.json().map((i: { email: string }) => i.email),
    rows.filter((r) => r.status === 'pending' && r.expiresAt.getTime() > now).map((r) => r.email),
  )
  t.ok(pending.json().length > 0)
  const expired = await app.inject({ method: 'GET', url: `${invitations}?status=expired`, headers: owner })
  t.ok(expired.json().length >= 3)
  t.ok(expired.json().every((i: { status: string }) => i.status === 'expired'))

  const bad = await app.inject({ method: 'GET', url: `${invitations}?status=maybe`, headers: owner })
  t.equal(bad.statusCode, 400)
  t.same(bad.json(), {
    code: 'validation_failed',
    message: 'Invalid query string',
    errors: [{ field: 'status', message: 'must be one of pending, accepted, declined, cancelled, expired' }],
  })
})

t.test('lists at most 100 invitations', async (t) => {
  const now = Date.now()
  await prisma.invitation.createMany({
    data: Array.from({ length: 105 }, (_, i) => ({
      schoolId: fixture.schoolB.id,
      email: `bulk-${i}@example.com`,
      role: 'student' as const,
      tokenHash: `bulk-${i}`,
      expiresAt: new Date(now + 3600_000),
      createdAt: new Date(now - 3600_000 - i * 1000),
    })),
  })
  const response = await app.inject({
    method: 'GET',
    url: `/api/accounts/schools/${fixture.schoolB.id}/invitations`,
    headers: authFor(fixture.ownerB),
  })
  const emails = response.json().map((i: { email: string }) => i.email)
  t.equal(emails.length, 100)
  t.equal(emails[0], 'twice@example.com', 'the newest first')
  t.equal(emails[1], 'bulk-0@example.com')
  t.equal(emails[99], 'bulk-98@example.com')
})
