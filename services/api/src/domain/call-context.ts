// What a domain function knows of whoever called it, without knowing it was a web request: the id that
// ties the events it appends to that request in the logs, and somewhere to write its own lines.

/** The lines the domain writes; a pino or Fastify logger is one. */
export interface DomainLog {
  warn(fields: object, message: string): void
  debug(fields: object, message: string): void
}

export interface CallContext {
  /** The request's id (X-Request-Id or generated), stored with each event; null for background work. */
  correlationId: string | null
  log: DomainLog
}
