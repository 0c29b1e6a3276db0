// The OpenAPI document at /api/docs/json: it holds together as an OpenAPI 3.1 document, and every route
// the API registers is in it with its request and response schemas, its tag and its security.
import t from 'tap'
import type { RouteOptions } from 'fastify'
import { buildTestApp } from './helper.js'

type Json = Record<string, any>

interface SeenRoute {
  method: string
  url: string
  schema: Json | undefined
  authenticated: boolean
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** `/api/accounts/schools/:id/invitations/:invId` as OpenAPI writes it. */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

/** Resolves a local `$ref` (`#/components/schemas/X`) in the document, or undefined. */
function resolveRef(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<any>((node, key) => (node === undefined || node === null ? undefined : node[key]), doc)
}

/** Every `$ref` in the document, with where it is. */
function collectRefs(node: unknown, at: string, found: Array<{ at: string; ref: string }>): void {
  if (Array.isArray(node)) node.forEach((item, index) => collectRefs(item, `${at}/${index}`, found))
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push({ at, ref: value })
      else collectRefs(value, `${at}/${key}`, found)
    }
  }
}

/** The essentials of OpenAPI 3.1 a consumer relies on; returns what is wrong, empty when nothing is. */
function openapiProblems(doc: Json): string[] {
  const problems: string[] = []
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) problems.push(`openapi is ${doc.openapi}`)
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') problems.push('info needs title and version')
  if (!doc.paths || typeof doc.paths !== 'object') problems.push('no paths')
  const declaredTags = new Set((doc.tags ?? []).map((tag: Json) => tag.name))
  const schemes = doc.components?.securitySchemes ?? {}
  const operationIds = new Set<string>()
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    if (!path.startsWith('/')) problems.push(`path ${path} does not start with /`)
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1])
    for (const [method, operation] of Object.entries<Json>(item)) {
      if (!HTTP_METHODS.includes(method)) continue
      const where = `${method.toUpperCase()} ${path}`
      const responses = Object.entries<Json>(operation.responses ?? {})
      if (responses.length === 0) problems.push(`${where} has no responses`)
      for (const [status, response] of responses) {
        if (!/^([1-5][0-9][0-9]|[1-5]XX|default)$/.test(status)) problems.push(`${where} response key ${status}`)
        if (typeof response.description !== 'string') problems.push(`${where} ${status} has no description`)
      }
      const parameters: Json[] = operation.parameters ?? []
      for (const name of templated) {
        if (!parameters.some((p) => p.in === 'path' && p.name === name && p.required === true)) {
          problems.push(`${where} does not declare the required path parameter ${name}`)
        }
      }
      for (const parameter of parameters) {
        if (!['path', 'query', 'header', 'cookie'].includes(parameter.in)) problems.push(`${where} parameter in ${parameter.in}`)
        if (parameter.in === 'path' && !templated.includes(parameter.name)) problems.push(`${where} path parameter ${parameter.name} is not in the path`)
        if (!parameter.schema && !parameter.content) problems.push(`${where} parameter ${parameter.name} has no schema`)
      }
      if (operation.requestBody && !operation.requestBody.content) problems.push(`${where} requestBody has no content`)
      for (const tag of operation.tags ?? []) if (!declaredTags.has(tag)) problems.push(`${where} uses undeclared tag ${tag}`)
      for (const requirement of operation.security ?? []) {
        for (const name of Object.keys(requirement)) if (!schemes[name]) problems.push(`${where} uses unknown security scheme ${name}`)
      }
      if (operation.operationId !== undefined) {
        if (operationIds.has(operation.operationId)) problems.push(`operationId ${operation.operationId} is not unique`)
        operationIds.add(operation.operationId)
      }
    }
  }
  const refs: Array<{ at: string; ref: string }> = []
  collectRefs(doc, '#', refs)
  for (const { at, ref } of refs) if (resolveRef(doc, ref) === undefined) problems.push(`${at}: $ref ${ref} does not resolve`)
  return problems
}

/**
 * The parts of a JSON schema the document must carry over: its shape, not its annotations. The document
 * writes `const: x` as `enum: [x]` (what OpenAPI 3.0 tools understand too), which means the same.
 */
function shapeOf(schema: Json | undefined): unknown {
  if (!schema) return schema
  return JSON.parse(
    JSON.stringify(schema, (key, value) => {
      if (key === 'examples' || key === 'description') return undefined
      if (value && typeof value === 'object' && !Array.isArray(value) && 'const' in value) {
        const { const: only, ...rest } = value
        return { ...rest, enum: [only] }
      }
      return value
    }),
  )
}

/** A media type's example: `example`, or `examples` when the schema gives several. */
function hasExample(media: Json | undefined): boolean {
  return media?.example !== undefined || Object.keys(media?.examples ?? {}).length > 0
}

t.test('the OpenAPI document', async (t) => {
  const seen: SeenRoute[] = []
  const { app } = await buildTestApp(t, {
    beforeReady: (app) =>
      app.addHook('onRoute', (route: RouteOptions) => {
        for (const method of [route.method].flat()) {
          seen.push({
            method: method.toLowerCase(),
            url: route.url,
            schema: route.schema as Json | undefined,
            authenticated: [route.onRequest ?? []].flat().includes(app.authenticate),
          })
        }
      }),
  })
  const response = await app.inject({ method: 'GET', url: '/api/docs/json' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  const doc = response.json() as Json

  t.test('is a valid OpenAPI 3.1 document', async (t) => {
    t.same(openapiProblems(doc), [])
    t.equal(doc.info.title, 'School dashboard API')
    t.same(doc.components.securitySchemes.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'The `token` from POST /api/auth/login, as `Authorization: Bearer <token>`',
    })
  })

  t.test('the checker catches what breaks a document', async (t) => {
    const broken = {
      openapi: '3.1.0',
      info: { title: 'x', version: '1' },
      tags: [],
      paths: {
        '/a/{id}': { get: { responses: {}, tags: ['nope'], security: [{ missing: [] }] } },
        '/b': { post: { responses: { 200: { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Gone' } } } } } } },
      },
    }
    t.same(openapiProblems(broken), [
      'GET /a/{id} has no responses',
      'GET /a/{id} does not declare the required path parameter id',
      'GET /a/{id} uses undeclared tag nope',
      'GET /a/{id} uses unknown security scheme missing',
      '#/paths//b/post/responses/200/content/application/json/schema: $ref #/components/schemas/Gone does not resolve',
    ])
  })

  // The documentation's own routes and the dashboard page's files are not part of the API.
  const apiRoutes = seen.filter(
    (route) =>
      route.method !== 'head' &&
      route.schema?.hide !== true &&
      !route.url.startsWith('/api/docs') &&
      !route.url.startsWith('/dashboard'),
  )

  t.test('lists every route the API registers, with its schemas', async (t) => {
    t.ok(apiRoutes.length >= 12, `${apiRoutes.length} routes`)
    const documented = new Set<string>()
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const method of Object.keys(item)) if (HTTP_METHODS.includes(method)) documented.add(`${method} ${path}`)
    }
    for (const route of apiRoutes) {
      const path = openapiPath(route.url)
      const key = `${route.method} ${path}`
      t.ok(documented.has(key), `${key} is documented`)
      documented.delete(key)
      const operation = doc.paths[path]?.[route.method] as Json | undefined
      if (!operation) continue
      const schema = route.schema ?? {}

      if (schema.body) {
        t.same(shapeOf(operation.requestBody?.content?.['application/json']?.schema), shapeOf(schema.body), `${key} request body`)
        t.ok(hasExample(operation.requestBody.content['application/json']), `${key} has a request example`)
      } else {
        t.equal(operation.requestBody, undefined, `${key} takes no body`)
      }
      for (const [part, location] of [
        ['params', 'path'],
        ['querystring', 'query'],
      ] as const) {
        const declared = Object.keys(schema[part]?.properties ?? {}).sort()
        const parameters = (operation.parameters ?? []).filter((p: Json) => p.in === location)
        t.same(parameters.map((p: Json) => p.name).sort(), declared, `${key} ${location} parameters`)
        for (const parameter of parameters) {
          t.same(shapeOf(parameter.schema), shapeOf(schema[part].properties[parameter.name]), `${key} ${location} ${parameter.name}`)
        }
      }
      for (const [status, responseSchema] of Object.entries<Json>(schema.response ?? {})) {
        const documentedResponse = operation.responses?.[status.toUpperCase()]
        t.ok(documentedResponse, `${key} documents ${status}`)
        if (responseSchema.type === 'null') {
          // A response without a body (204): the document gives the status and no content.
          t.equal(documentedResponse?.content, undefined, `${key} ${status} has no content`)
          continue
        }
        t.same(shapeOf(documentedResponse?.content?.['application/json']?.schema), shapeOf(responseSchema), `${key} ${status} schema`)
        if (responseSchema.description) t.equal(documentedResponse?.description, responseSchema.description)
      }
      if (schema.tags) t.same(operation.tags, schema.tags, `${key} tags`)
      t.same(operation.security, route.authenticated ? [{ bearerAuth: [] }] : undefined, `${key} security`)
    }
    t.same([...documented], [], 'nothing is documented that the API does not serve')
  })

  t.test('documents the routes of the README with tags, summaries and examples', async (t) => {
    const expected: Array<[string, string, string]> = [
      ['post', '/api/auth/login', 'auth'],
      ['post', '/api/accounts/schools/{id}/invitations', 'invitations'],
      ['get', '/api/accounts/schools/{id}/invitations', 'invitations'],
      ['delete', '/api/accounts/schools/{id}/invitations/{invId}', 'invitations'],
      ['post', '/api/accounts/invitations/{token}/accept', 'invitations'],
      ['post', '/api/accounts/invitations/{token}/decline', 'invitations'],
      ['get', '/api/accounts/schools/{id}/members', 'members'],
      ['delete', '/api/accounts/schools/{id}/members/{userId}', 'members'],
      ['patch', '/api/accounts/schools/{id}/members/{userId}', 'members'],
      ['post', '/api/accounts/schools/{id}/students', 'students'],
      ['post', '/api/accounts/schools/{id}/classes', 'classes'],
      ['get', '/api/accounts/schools/{id}/dashboard', 'dashboard'],
      ['get', '/healthz', 'operations'],
    ]
    for (const [method, path, tag] of expected) {
      const operation = doc.paths[path]?.[method] as Json | undefined
      t.ok(operation, `${method} ${path}`)
      t.same(operation?.tags, [tag], `${method} ${path} tag`)
      t.type(operation?.summary, 'string', `${method} ${path} summary`)
      t.type(operation?.description, 'string', `${method} ${path} description`)
      const [status, success] = Object.entries<Json>(operation?.responses ?? {}).find(([status]) => /^2/.test(status)) ?? []
      if (status === '204') t.equal(success?.content, undefined, `${method} ${path} answers without a body`)
      else t.ok(hasExample(success?.content?.['application/json']), `${method} ${path} has a response example`)
    }
    t.equal(doc.paths['/api/auth/login'].post.security, undefined, 'signing in needs no token')
  })

  t.test('serves the Swagger UI and the YAML form', async (t) => {
    const page = await app.inject({ method: 'GET', url: '/api/docs/' })
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /^text\/html/)
    t.match(page.body, /swagger-ui/i)
    const yaml = await app.inject({ method: 'GET', url: '/api/docs/yaml' })
    t.equal(yaml.statusCode, 200)
    t.match(yaml.body, /^openapi: 3\.1\.0$/m)
  })
})
