// Access tokens for the seeded users of the scale tests, signed as the API would (no sign-in per user).
import { createTokenSigner } from '@school/auth'
import { DEV_JWT_SECRET } from '@school/config'

const sign = createTokenSigner({ JWT_SECRET: DEV_JWT_SECRET, JWT_ISSUER: 'school-dashboard', JWT_AUDIENCE: 'school-dashboard' })

export function signAccessToken(userId: number): string {
  return sign({ id: userId, email: null })
}
