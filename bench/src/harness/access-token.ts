// Signs access tokens the services accept, exactly as the API does (@school/auth's signer), so that
// thousands of clients can authenticate without thousands of logins.
import { createTokenSigner } from '@school/auth'
import { DEV_JWT_SECRET } from '@school/config'

export const BENCH_JWT_SETTINGS = { JWT_SECRET: DEV_JWT_SECRET, JWT_ISSUER: 'school-dashboard', JWT_AUDIENCE: 'school-dashboard' }

const sign = createTokenSigner(BENCH_JWT_SETTINGS)

export function signAccessToken(user: { id: number; email: string | null }): string {
  return sign(user)
}
