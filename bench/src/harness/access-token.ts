// Signs access tokens the services accept (HS256 with the issuer, audience and lifetime of @school/auth),
// so that thousands of clients can authenticate without thousands of logins.
import { createHmac } from 'node:crypto'
import { jwtOptions } from '@school/auth'
import { DEV_JWT_SECRET } from '@school/config'

export const BENCH_JWT_SETTINGS = { JWT_SECRET: DEV_JWT_SECRET, JWT_ISSUER: 'school-dashboard', JWT_AUDIENCE: 'school-dashboard' }

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

export function signAccessToken(user: { id: number; email: string }): string {
  const { secret, sign } = jwtOptions(BENCH_JWT_SETTINGS)
  const now = Math.floor(Date.now() / 1000)
  const header = base64url(JSON.stringify({ alg: sign.algorithm, typ: 'JWT' }))
  const payload = base64url(
    JSON.stringify({ sub: String(user.id), email: user.email, iss: sign.iss, aud: sign.aud, iat: now, exp: now + Math.floor(sign.expiresIn / 1000) }),
  )
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}
