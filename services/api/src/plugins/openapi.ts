// The API's OpenAPI 3.1 document, generated from the route schemas, and its browsable form: the Swagger UI
// at /api/docs and the document itself at /api/docs/json (and /api/docs/yaml).
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const API_DOCS_PREFIX = '/api/docs'

/** Tags group the operations in the document; every route names one of these. */
export const API_TAGS = [
  { name: 'auth', description: 'Sessions: signing in, renewing the access token with the refresh token, signing out, changing the password' },
  { name: 'invitations', description: 'Inviting people to a school, and answering an invitation' },
  { name: 'members', description: "A school's members: listing them, removing them, changing their roles" },
  { name: 'students', description: 'Registering students' },
  { name: 'classes', description: 'Creating classes' },
  { name: 'dashboard', description: "The dashboard's first render; live updates come over WebSocket or Socket.IO" },
  { name: 'operations', description: 'Health, readiness and metrics of the process' },
] as const

export const BEARER_SCHEME = 'bearerAuth'

async function openapiPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'School dashboard API',
        version: '0.1.0',
        description:
          'Sign-in, invitations, members, students, classes and the dashboard\'s first render. Errors are JSON `{code, message}` ' +
          '(plus `errors: [{field, message}]` for validation failures). Live updates are not HTTP: see docs/PROTOCOL.md ' +
          'for the WebSocket and Socket.IO message contract.',
      },
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'The `token` from POST /api/auth/login, as `Authorization: Bearer <token>`',
          },
        },
      },
      tags: [...API_TAGS],
    },
    // The security requirement follows from the route itself: any route that authenticates its caller.
    transform: ({ schema, url, route }) => {
      const authenticated = [route.onRequest ?? []].flat().includes(app.authenticate)
      return { schema: authenticated ? { ...schema, security: [{ [BEARER_SCHEME]: [] }] } : schema, url }
    },
  })
  await app.register(fastifySwaggerUi, {
    routePrefix: API_DOCS_PREFIX,
    uiConfig: { docExpansion: 'list', deepLinking: true },
    staticCSP: true,
  })
}

export default fp(openapiPlugin, { name: 'openapi', fastify: '5.x' })
