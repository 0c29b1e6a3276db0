// The domain's refusals as the routes answer them: each reason is one of the API's own errors, with the
// status and code the routes answered before the domain stopped throwing HTTP errors itself.
import t from 'tap'
import { refuse, type Refusal } from '../src/domain/outcomes.js'
import { apiErrorCode, refusalError, valueOrRefusalError } from '../src/http-errors.js'

t.test('every refusal becomes the API error with its status, code and message', async (t) => {
  const cases: Array<[Refusal, number, string, string]> = [
    [refuse('no_user'), 401, 'unauthorized', 'The account of this access token no longer exists'],
    [refuse('session_ended'), 401, 'unauthorized', 'The session of this access token has ended; sign in again'],
    [refuse('forbidden'), 403, 'forbidden', 'You are not an owner or admin of this school'],
    [refuse('school_not_found'), 404, 'school_not_found', 'School not found'],
    [refuse('invitation_not_found'), 404, 'invitation_not_found', 'Invitation not found'],
    [refuse('invitation_not_pending', { status: 'accepted' }), 409, 'invitation_not_pending', 'The invitation is no longer pending: it was accepted'],
    [refuse('invitation_expired'), 410, 'invitation_expired', 'The invitation has expired'],
    [refuse('invitation_pending'), 409, 'invitation_pending', 'A pending invitation for this email already exists in this school'],
    [
      refuse('invitation_quota_exceeded', { limit: 50 }),
      429,
      'invitation_quota_exceeded',
      'This school has sent 50 invitations in the last hour; try again later',
    ],
    [refuse('already_member'), 409, 'already_member', 'A user with this email is already a member of this school'],
    [refuse('invalid_credentials'), 401, 'invalid_credentials', 'Invalid email or password'],
    [refuse('invalid_teacher'), 400, 'invalid_teacher', 'teacherId must be a teacher of this school'],
    [refuse('class_exists'), 409, 'class_exists', 'A class with this name already exists in this school'],
    [refuse('member_not_found'), 404, 'member_not_found', 'This user is not a member of this school'],
    [
      refuse('insufficient_role'),
      403,
      'insufficient_role',
      'An admin may only remove or change teachers and students, and only make them teachers or students',
    ],
    [refuse('last_owner'), 409, 'last_owner', 'The school must keep at least one owner'],
  ]
  for (const [refusal, statusCode, code, message] of cases) {
    const error = refusalError(refusal) as Error & { statusCode: number; code: string }
    t.same({ statusCode: error.statusCode, code: apiErrorCode(error), message: error.message }, { statusCode, code, message }, refusal.refused)
  }
})

t.test('a route answers with the value of a done outcome and throws the error of a refusal', async (t) => {
  t.equal(valueOrRefusalError({ ok: true, value: 42 }), 42)
  t.throws(() => valueOrRefusalError(refuse('last_owner')), { code: 'LAST_OWNER', statusCode: 409 })
})
