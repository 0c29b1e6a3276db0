// What a domain function answers: its result, or the reason it refused. The domain knows no status codes:
// the routes turn a refusal into the HTTP error that says so (http-errors.ts, refusalError).

export interface Done<T> {
  readonly ok: true
  readonly value: T
}

/** Every reason a domain function refuses; the ones whose message names something carry it. */
export type Refusal =
  /** The account of the caller's access token no longer exists. */
  | { readonly ok: false; readonly refused: 'no_user' }
  /** The session of the caller's access token has ended. */
  | { readonly ok: false; readonly refused: 'session_ended' }
  /** The caller is not (or no longer) an owner or admin of the school. */
  | { readonly ok: false; readonly refused: 'forbidden' }
  | { readonly ok: false; readonly refused: 'school_not_found' }
  | { readonly ok: false; readonly refused: 'invitation_not_found' }
  | { readonly ok: false; readonly refused: 'invitation_not_pending'; readonly status: string }
  | { readonly ok: false; readonly refused: 'invitation_expired' }
  | { readonly ok: false; readonly refused: 'invitation_pending' }
  | { readonly ok: false; readonly refused: 'invitation_quota_exceeded'; readonly limit: number }
  | { readonly ok: false; readonly refused: 'already_member' }
  | { readonly ok: false; readonly refused: 'invalid_credentials' }
  | { readonly ok: false; readonly refused: 'invalid_teacher' }
  | { readonly ok: false; readonly refused: 'class_exists' }
  | { readonly ok: false; readonly refused: 'member_not_found' }
  | { readonly ok: false; readonly refused: 'insufficient_role' }
  | { readonly ok: false; readonly refused: 'last_owner' }

export type RefusalReason = Refusal['refused']
export type Refused<K extends RefusalReason> = Extract<Refusal, { refused: K }>

/** A result, or one of the refusals `K`. */
export type Outcome<T, K extends RefusalReason = never> = Done<T> | Refused<K>

type Details<K extends RefusalReason> = Omit<Refused<K>, 'ok' | 'refused'>

export function done<T>(value: T): Done<T> {
  return { ok: true, value }
}

export function refuse<K extends RefusalReason>(refused: K, ...details: keyof Details<K> extends never ? [] : [Details<K>]): Refused<K> {
  return { ok: false, refused, ...details[0] } as Refused<K>
}
