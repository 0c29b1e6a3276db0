// Reads a service's configuration from an environment object and fails fast, naming the variable.
import type { TObject, Static } from 'typebox'
import { Value } from 'typebox/value'
import { DEV_JWT_SECRET } from './schemas.js'

export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

export function loadConfig<S extends TObject>(schema: S, env: Env = process.env): Readonly<Static<S>> {
  const known = Object.keys(schema.properties)
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const raw = Object.fromEntries(known.filter((key) => env[key] !== undefined && env[key] !== '').map((key) => [key, env[key]]))
  const value = Value.Default(schema, Value.Convert(schema, raw)) as Record<string, unknown>
  const problems = new Map<string, string>()
  for (const error of Value.Errors(schema, value)) {
    const name = error.instancePath.replace(/^\//, '')
    // A union reports one error per branch; keep the first line per variable and list the choices.
    if (problems.has(name)) continue
    const choices = (schema.properties[name] as { anyOf?: Array<{ const?: unknown }> } | undefined)?.anyOf
    const detail = choices ? `must be one of ${choices.map((c) => String(c.const)).join(', ')}` : error.message
    problems.set(name, `${name} ${detail} (got ${JSON.stringify(raw[name])})`)
  }
  if (value.NODE_ENV === 'production' && value.JWT_SECRET === DEV_JWT_SECRET) {
    problems.set('JWT_SECRET', 'JWT_SECRET must be set to a secret of your own in production (the development default is public)')
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()])
  return Object.freeze(value) as Readonly<Static<S>>
}
