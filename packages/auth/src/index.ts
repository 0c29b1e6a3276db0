// Who is asking, and may they see this school: tokens, passwords, sessions and the membership check.
export {
  jwtOptions,
  createTokenSigner,
  signTokenClaims,
  type TokenSignerOptions,
  createTokenVerifier,
  createTokenChecker,
  tokenSubject,
  type AccessTokenClaims,
  type TokenCheck,
  type TokenChecker,
  type TokenVerifier,
  type VerifiedToken,
  type JwtSettings,
} from './tokens.js'
export { hashPassword, verifyPassword, verifyPasswordOrDummy } from './passwords.js'
export { resolveSchoolAccess, watchersWithoutAccess, type LostWatcher, type SchoolAccess, type SchoolWatcher } from './school-access.js'
