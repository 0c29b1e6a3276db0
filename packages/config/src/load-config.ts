// Reads a service's configuration from an environment object and fails fast, naming the variable.
import type { TObject, Static } from 'typebox'
import { Value } from 'typebox/value'
import { ConfigError } from './config-error.js'
import { readJwtKeys } from './jwt-keys.js'
import { DEV_JWT_SECRET } from './schemas.js'
import { trustProxyProblem } from './trusted-proxies.js'

type Env = Record<string, string | undefined>

/** Variables whose values are never repeated in an error message (it may end up in a log). */
const SECRETS = new Set(['JWT_SECRET', 'JWT_KEYS'])

export function loadConfig<S extends TObject>(schema: S, env: Env = process.env): Readonly<Static<S>> {
  const known = Object.keys(schema.properties)
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const given = (key: string) => env[key] !== undefined && env[key] !== ''
  const raw = Object.fromEntries(known.filter(given).map((key) => [key, env[key]]))
  // Default fills in place: `raw` keeps only what was given.
  const value = Value.Default(schema, Value.Convert(schema, { ...raw })) as Record<string, unknown>
  const problems = new Map<string, string>()
  for (const error of Value.Errors(schema, value)) {
    const name = error.instancePath.replace(/^\//, '')
    // A union reports one error per branch; keep the first line per variable and list the choices.
    if (problems.has(name)) continue
    const choices = (schema.properties[name] as { anyOf?: Array<{ const?: unknown }> } | undefined)?.anyOf
    const detail = choices ? `must be one of ${choices.map((c) => String(c.const)).join(', ')}` : error.message
    const got = SECRETS.has(name) ? `${String(raw[name] ?? '').length} characters` : JSON.stringify(raw[name])
    problems.set(name, `${name} ${detail} (got ${got})`)
  }
  const production = value.NODE_ENV === 'production'
  if (production && value.JWT_SECRET === DEV_JWT_SECRET && !given('JWT_KEYS')) {
    problems.set('JWT_SECRET', 'JWT_SECRET must be set to a secret of your own in production (the development default is public)')
  }
  if (typeof value.JWT_KEYS === 'string' && typeof value.JWT_SECRET === 'string' && !problems.has('JWT_KEYS')) {
    if (given('JWT_KEYS') && given('JWT_SECRET')) {
      problems.set('JWT_KEYS', 'JWT_KEYS and JWT_SECRET are both set: JWT_KEYS replaces JWT_SECRET, so list every key there (JWT_SECRET was the key "default")')
    } else {
      const jwt = { JWT_KEYS: value.JWT_KEYS, JWT_SECRET: value.JWT_SECRET }
      const { problems: keyProblems } = readJwtKeys(jwt, production ? DEV_JWT_SECRET : undefined)
      if (keyProblems.length > 0) problems.set('JWT_KEYS', keyProblems.join('; '))
    }
  }
  if (given('ACCESS_TOKEN_TTL_S') && given('JWT_TTL_SECONDS') && !problems.has('ACCESS_TOKEN_TTL_S')) {
    problems.set('JWT_TTL_SECONDS', 'JWT_TTL_SECONDS is the former name of ACCESS_TOKEN_TTL_S: set only ACCESS_TOKEN_TTL_S')
  }
  if (typeof value.TRUST_PROXY === 'string' && !problems.has('TRUST_PROXY')) {
    const problem = trustProxyProblem(value.TRUST_PROXY)
    if (problem) problems.set('TRUST_PROXY', problem)
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()])
  return Object.freeze(value) as Readonly<Static<S>>
}
