// Compiles route schemas with TypeBox. Unlike Fastify's default Ajv setup it never strips unknown body
// fields (additionalProperties: false is a 400), it converts path and query strings strictly, and it
// checks a missing body as an empty one.
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

const DECIMAL_INTEGER = /^-?(0|[1-9][0-9]*)$/

interface SchemaNode {
  type?: unknown
  properties?: Record<string, SchemaNode>
}

/**
 * Path and query values arrive as strings. TypeBox's Value.Convert would read '0x10' as 16 and ' 12' as
 * 12; here an integer must be written as plain decimal digits, as `parseId` in @school/events reads it,
 * and anything else stays a string so that the check refuses it.
 */
function convertStrings(schema: SchemaNode, input: unknown): unknown {
  if (typeof input !== 'object' || input === null || !schema.properties) return input
  const output: Record<string, unknown> = { ...(input as Record<string, unknown>) }
  for (const [key, property] of Object.entries(schema.properties)) {
    const value = output[key]
    if (typeof value !== 'string') continue
    if (property.type === 'integer' && DECIMAL_INTEGER.test(value)) {
      output[key] = Number(value)
    } else if (property.type === 'boolean' && (value === 'true' || value === 'false')) {
      output[key] = value === 'true'
    }
  }
  return output
}

/**
 * A request without a body is checked as `{}`: a route whose body has required fields then lists them
 * ("email is required"), and a route that takes no input accepts no body as well as `{}`.
 */
function absentBodyAsEmpty(input: unknown): unknown {
  return input ?? {}
}

export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema)
  const prepare =
    httpPart === 'params' || httpPart === 'querystring'
      ? (input: unknown) => convertStrings(schema as SchemaNode, input)
      : httpPart === 'body'
        ? absentBodyAsEmpty
        : (input: unknown) => input
  return (input: unknown) => {
    const value = prepare(input)
    if (validator.Check(value)) return { value }
    return { error: validator.Errors(value) as unknown as FastifySchemaValidationError[] }
  }
}
