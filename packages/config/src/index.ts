// Configuration for every service: one TypeBox schema per service, read from the environment,
// validated at start-up and frozen. A bad value stops the process with a message naming the variable.
export { allowedOrigins } from './allowed-origins.js'
export { ConfigError, loadConfig } from './load-config.js'
export {
  apiConfigSchema,
  realtimeConfigSchema,
  DEV_JWT_SECRET,
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  type ApiConfig,
  type RealtimeConfig,
  type SharedConfig,
} from './schemas.js'
