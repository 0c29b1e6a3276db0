// The keys access tokens are signed and verified with, each named by a key id (the token header's `kid`):
// JWT_KEYS lists them as `kid:secret,...`, the first signs and every one verifies, so a key can be added
// before it signs and kept after it stops; JWT_SECRET is the one-key shorthand, the key `default`.
import { ConfigError } from './config-error.js'

export interface JwtKey {
  readonly kid: string
  readonly secret: string
}

export interface JwtKeySettings {
  JWT_SECRET: string
  /** Absent or empty: JWT_SECRET is the only key. */
  JWT_KEYS?: string
}

/** The key id of JWT_SECRET's key: listing `default:<that secret>` in JWT_KEYS keeps its tokens valid. */
export const JWT_SECRET_KID = 'default'
export const MIN_JWT_SECRET_LENGTH = 32
const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

/** The key set and what is wrong with JWT_KEYS; a problem names the variable and the key id, never a secret. */
export function readJwtKeys(settings: JwtKeySettings, forbiddenSecret?: string): { keys: JwtKey[]; problems: string[] } {
  const list = settings.JWT_KEYS ?? ''
  if (list.trim() === '') return { keys: [{ kid: JWT_SECRET_KID, secret: settings.JWT_SECRET }], problems: [] }
  const keys: JwtKey[] = []
  const problems: string[] = []
  const entries = list.split(',').map((entry) => entry.trim()).filter(Boolean)
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':')
    const kid = colon < 0 ? '' : entry.slice(0, colon).trim()
    const secret = colon < 0 ? '' : entry.slice(colon + 1).trim()
    if (colon < 0) problems.push(`JWT_KEYS entry ${index + 1} must be written kid:secret`)
    else if (!KID_PATTERN.test(kid)) problems.push(`JWT_KEYS entry ${index + 1}: a key id is 1 to 64 letters, digits, '.', '_' or '-'`)
    else if (keys.some((key) => key.kid === kid)) problems.push(`JWT_KEYS lists the key id "${kid}" twice`)
    else if (secret.length < MIN_JWT_SECRET_LENGTH) problems.push(`JWT_KEYS key "${kid}" must be at least ${MIN_JWT_SECRET_LENGTH} characters`)
    else if (secret === forbiddenSecret) problems.push(`JWT_KEYS key "${kid}" is the public development secret; use a secret of your own in production`)
    else keys.push({ kid, secret })
  }
  if (entries.length === 0) problems.push('JWT_KEYS lists no key')
  return { keys, problems }
}

/** The keys of a configuration loadConfig accepted, the signing key first. */
export function jwtKeys(settings: JwtKeySettings): JwtKey[] {
  const { keys, problems } = readJwtKeys(settings)
  if (problems.length > 0) throw new ConfigError(problems)
  return keys
}
