// Every error the API answers with on purpose, each with an HTTP status and a stable code fixed where it
// is defined. @fastify/error upper-cases codes (INVITATION_NOT_FOUND); clients get them lower_snake
// (invitation_not_found) from the error handler, which only trusts the codes registered here.
import type { SchoolAccess } from '@school/auth'
import createError from '@fastify/error'
import type { Outcome, Refusal, RefusalReason } from './domain/outcomes.js'

const apiErrorCodes = new Set<string>()

function apiError<Args extends unknown[] = []>(code: string, message: string, statusCode: number) {
  const constructor = createError<Args>(code.toUpperCase(), message, statusCode)
  apiErrorCodes.add(code.toUpperCase())
  return constructor
}

/** The body code of one of our errors, or null for an error from anywhere else. */
export function apiErrorCode(error: { code?: unknown }): string | null {
  return typeof error.code === 'string' && apiErrorCodes.has(error.code) ? error.code.toLowerCase() : null
}

export const Unauthorized = apiError<[reason: string]>('unauthorized', '%s', 401)
export const InvalidCredentials = apiError('invalid_credentials', 'Invalid email or password', 401)
export const Forbidden = apiError('forbidden', 'You are not an owner or admin of this school', 403)
export const SchoolNotFound = apiError('school_not_found', 'School not found', 404)
export const InvitationNotFound = apiError('invitation_not_found', 'Invitation not found', 404)
export const InvitationNotPending = apiError<[status: string]>(
  'invitation_not_pending',
  'The invitation is no longer pending: it was %s',
  409,
)
export const InvitationExpired = apiError('invitation_expired', 'The invitation has expired', 410)
export const InvitationPending = apiError(
  'invitation_pending',
  'A pending invitation for this email already exists in this school',
  409,
)
export const AlreadyMember = apiError('already_member', 'A user with this email is already a member of this school', 409)
export const InvalidTeacher = apiError('invalid_teacher', 'teacherId must be a teacher of this school', 400)
export const ClassExists = apiError('class_exists', 'A class with this name already exists in this school', 409)
export const MemberNotFound = apiError('member_not_found', 'This user is not a member of this school', 404)
export const InsufficientRole = apiError(
  'insufficient_role',
  'An admin may only remove or change teachers and students, and only make them teachers or students',
  403,
)
export const LastOwner = apiError('last_owner', 'The school must keep at least one owner', 409)
export const RouteNotFound = apiError('not_found', 'Route not found', 404)
export const RateLimited = apiError<[retryAfter: string]>('rate_limited', 'Too many attempts; try again in %s', 429)
export const InvitationQuotaExceeded = apiError<[limit: number]>(
  'invitation_quota_exceeded',
  'This school has sent %d invitations in the last hour; try again later',
  429,
)
export const RefreshTokenMissing = apiError(
  'refresh_token_missing',
  'No refresh token: send the sd_refresh cookie, or {"refreshToken": ...} in the body',
  401,
)
export const RefreshTokenInvalid = apiError('refresh_token_invalid', 'The refresh token is not valid; sign in again', 401)
export const RefreshTokenExpired = apiError('refresh_token_expired', 'The refresh token has expired; sign in again', 401)
export const RefreshTokenRevoked = apiError('refresh_token_revoked', 'The session of this refresh token has ended; sign in again', 401)
export const RefreshTokenReused = apiError(
  'refresh_token_reused',
  'This refresh token was already used: the session has been ended everywhere; sign in again',
  401,
)
export const OriginNotAllowed = apiError('origin_not_allowed', 'Requests from this origin are not allowed', 403)
export const WrongCurrentPassword = apiError('wrong_current_password', 'The current password is not correct', 403)

/** The error a school route answers for an access the caller does not have. */
export function schoolAccessRefusal(kind: Exclude<SchoolAccess['kind'], 'admin'>): Error {
  switch (kind) {
    case 'no_user':
      return new Unauthorized('The account of this access token no longer exists')
    case 'session_ended':
      return new Unauthorized('The session of this access token has ended; sign in again')
    case 'no_school':
      return new SchoolNotFound()
    case 'forbidden':
      return new Forbidden()
  }
}

/** The error a route answers for a domain function's refusal. */
export function refusalError(refusal: Refusal): Error {
  switch (refusal.refused) {
    case 'no_user':
    case 'session_ended':
    case 'forbidden':
      return schoolAccessRefusal(refusal.refused)
    case 'school_not_found':
      return new SchoolNotFound()
    case 'invitation_not_found':
      return new InvitationNotFound()
    case 'invitation_not_pending':
      return new InvitationNotPending(refusal.status)
    case 'invitation_expired':
      return new InvitationExpired()
    case 'invitation_pending':
      return new InvitationPending()
    case 'invitation_quota_exceeded':
      return new InvitationQuotaExceeded(refusal.limit)
    case 'already_member':
      return new AlreadyMember()
    case 'invalid_credentials':
      return new InvalidCredentials()
    case 'invalid_teacher':
      return new InvalidTeacher()
    case 'class_exists':
      return new ClassExists()
    case 'member_not_found':
      return new MemberNotFound()
    case 'insufficient_role':
      return new InsufficientRole()
    case 'last_owner':
      return new LastOwner()
  }
}

/** What a route answers with: the outcome's value, or its refusal thrown as the HTTP error that says so. */
export function valueOrRefusalError<T, K extends RefusalReason>(outcome: Outcome<T, K>): T {
  if (!outcome.ok) throw refusalError(outcome)
  return outcome.value
}
