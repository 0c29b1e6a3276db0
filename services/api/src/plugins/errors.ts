// One place that turns every error into a `{ code, message }` body: the API's own errors as they are,
// Fastify's under lower_snake codes of ours, validation failures with per-field details, and anything
// unexpected as an opaque 500 (logged, never shown).
import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify'
import fp from 'fastify-plugin'
import { apiErrorCode, RouteNotFound } from '../http-errors.js'

export interface ErrorBody {
  code: string
  message: string
  errors?: FieldError[]
}

export interface FieldError {
  field: string
  message: string
}

/** Fastify's own errors a client can cause, under our codes and in our words. */
const FASTIFY_ERRORS: Record<string, { code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_json', message: 'The request body is empty' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', message: 'The request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    message: 'Unsupported content type: send the body as application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request', message: 'The request body does not match its Content-Length' },
  FST_ERR_BAD_URL: { code: 'bad_request', message: 'The URL is malformed' },
}

/** For client errors from elsewhere (plugins, Fastify errors not listed above). */
const CODES_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
}

const INTERNAL_ERROR: ErrorBody = { code: 'internal_error', message: 'Internal server error' }

const PART_NAMES: Record<string, string> = {
  body: 'request body',
  params: 'path',
  querystring: 'query string',
  headers: 'headers',
}

function joinField(instancePath: string, name?: string): string {
  const parts = instancePath.split('/').filter(Boolean)
  if (name !== undefined) parts.push(name)
  return parts.join('.')
}

/**
 * TypeBox reports a failed anyOf as one error per branch plus the anyOf itself, and an extra property
 * twice; this keeps one line per field, in the words a client can act on.
 */
export function fieldErrors(errors: readonly FastifySchemaValidationError[], context: string): FieldError[] {
  const allowedByPath = new Map<string, unknown[]>()
  for (const error of errors) {
    if (error.keyword === 'const' && error.schemaPath.includes('/anyOf/')) {
      allowedByPath.set(error.instancePath, [...(allowedByPath.get(error.instancePath) ?? []), error.params.allowedValue])
    }
  }
  const result: FieldError[] = []
  const add = (field: string, message: string) => {
    const named = field || context
    if (!result.some((entry) => entry.field === named && entry.message === message)) result.push({ field: named, message })
  }
  for (const error of errors) {
    const params = error.params as Record<string, unknown>
    switch (error.keyword) {
      case 'required':
        for (const name of (params.requiredProperties as string[] | undefined) ?? [params.missingProperty as string]) {
          add(joinField(error.instancePath, name), 'is required')
        }
        break
      case 'additionalProperties':
        for (const name of (params.additionalProperties as string[] | undefined) ?? [params.additionalProperty as string]) {
          add(joinField(error.instancePath, name), 'is not allowed')
        }
        break
      case 'boolean':
        // `additionalProperties: false` failing: already reported by its additionalProperties error.
        if (!error.schemaPath.endsWith('/additionalProperties')) add(joinField(error.instancePath), error.message ?? 'is invalid')
        break
      case 'const':
        if (!error.schemaPath.includes('/anyOf/')) add(joinField(error.instancePath), error.message ?? 'is invalid')
        break
      case 'enum':
        add(joinField(error.instancePath), `must be one of ${(params.allowedValues as unknown[]).join(', ')}`)
        break
      case 'anyOf': {
        const allowed = allowedByPath.get(error.instancePath)
        add(joinField(error.instancePath), allowed?.length ? `must be one of ${allowed.join(', ')}` : (error.message ?? 'is invalid'))
        break
      }
      default:
        add(joinField(error.instancePath), error.message ?? 'is invalid')
    }
  }
  return result
}

/**
 * The path of the first string (value or key) holding U+0000 in a parsed body, if any. PostgreSQL's text
 * cannot store that character: left to the database it would be a 500. Iterative, as bodies nest deep.
 */
function fieldWithNul(value: unknown): string | null {
  const pending: Array<[unknown, string]> = [[value, '']]
  while (pending.length > 0) {
    const [current, path] = pending.pop()!
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return path
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path === '' ? key : `${path}.${key}`
        if (key.includes('\u0000')) return childPath
        pending.push([child, childPath])
      }
    }
  }
  return null
}

/** A body refused for U+0000, reported like a schema failure: 400 validation_failed naming the field. */
function nulError(field: string): FastifyError {
  const error = new Error('Invalid request body') as FastifyError
  error.statusCode = 400
  error.validationContext = 'body'
  error.validation = [
    { keyword: 'nul', instancePath: field === '' ? '' : `/${field.split('.').join('/')}`, schemaPath: '', params: {}, message: 'must not contain the NUL character (U+0000)' },
  ]
  return error
}

function errorsPlugin(app: FastifyInstance): void {
  // Only JSON bodies; anything else is a 415. A JSON body that is empty counts as no body, so that
  // routes taking no input accept `Content-Type: application/json` with nothing after it.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined)
      return
    }
    parseJson(request, body as string, (error, parsed) => {
      // JSON carries U+0000 only as the escape \u0000: bodies without it need no walk.
      const field = !error && (body as string).includes('\\u0000') ? fieldWithNul(parsed) : null
      if (field !== null) return done(nulError(field), undefined)
      done(error, parsed)
    })
  })

  app.setNotFoundHandler((_request, reply) => {
    const error = new RouteNotFound()
    return reply.status(404).send({ code: apiErrorCode(error) ?? 'not_found', message: error.message } satisfies ErrorBody)
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const context = error.validationContext ?? 'body'
      const body: ErrorBody = {
        code: 'validation_failed',
        message: `Invalid ${PART_NAMES[context] ?? context}`,
        errors: fieldErrors(error.validation, context),
      }
      return reply.status(400).send(body)
    }

    const status = error.statusCode ?? 500
    if (status < 400 || status >= 500) {
      request.log.error({ err: error }, 'request failed')
      return reply.status(500).send(INTERNAL_ERROR)
    }

    const ours = apiErrorCode(error)
    const fastify = FASTIFY_ERRORS[error.code]
    const body: ErrorBody = ours
      ? { code: ours, message: error.message }
      : (fastify ?? { code: CODES_BY_STATUS[status] ?? 'bad_request', message: error.message })
    if (body.code === 'unauthorized') reply.header('www-authenticate', 'Bearer')
    return reply.status(status).send(body)
  })
}

export default fp(errorsPlugin, { name: 'errors', fastify: '5.x' })
