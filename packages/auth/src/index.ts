// Who is asking, and may they see this school: tokens, passwords and the membership check.
export { jwtOptions, createTokenSigner, createTokenVerifier, type AccessTokenClaims, type TokenVerifier, type JwtSettings } from './tokens.js'
export { hashPassword, verifyPassword, verifyPasswordOrDummy } from './passwords.js'
export { pairsWithoutAdminAccess, resolveSchoolAccess, type SchoolAccess, type SchoolUser } from './school-access.js'
