// The domain's call context of a request: its id, which Fastify also binds to the request's log lines
// as reqId, and its logger.
import type { FastifyRequest } from 'fastify'
import type { CallContext } from '../domain/call-context.js'

export function callContextOf(request: FastifyRequest): CallContext {
  return { correlationId: request.id, log: request.log }
}
