// Configuration for every service: one TypeBox schema per service, read from the environment,
// validated at start-up and frozen. A bad value stops the process with a message naming the variable.
export { allowedOrigins } from './allowed-origins.js'
export { ConfigError } from './config-error.js'
export { jwtKeys, JWT_SECRET_KID, MIN_JWT_SECRET_LENGTH, type JwtKey, type JwtKeySettings } from './jwt-keys.js'
export { loadConfig } from './load-config.js'
export { proxyTrust, type ProxyTrust } from './trusted-proxies.js'
export {
  accessTokenTtlSeconds,
  apiConfigSchema,
  DEFAULT_ACCESS_TOKEN_TTL_S,
  realtimeConfigSchema,
  DEV_JWT_SECRET,
  DEFAULT_DATABASE_URL,
  DEFAULT_DATABASE_PREPARED_STATEMENTS,
  DEFAULT_REDIS_URL,
  type ApiConfig,
  type RealtimeConfig,
  type SharedConfig,
} from './schemas.js'
