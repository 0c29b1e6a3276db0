// The API's pino options: JSON lines, pretty only on a terminal, and never a token, password or
// invitation secret in a log line.
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { stdoutLogOutput } from '@school/observability'

/** Where log lines go instead of stdout; anything with pino's `write(line)` works. */
export interface LogDestination {
  write(line: string): void
}

export const REDACTED = '[redacted]'

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'password',
  'passwordHash',
  'token',
  'refreshToken',
  'currentPassword',
  'newPassword',
  'acceptUrl',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.refreshToken',
  '*.currentPassword',
  '*.newPassword',
  '*.acceptUrl',
]

/**
 * Invitation tokens travel in the path of the accept and decline routes. Redacts the segment after
 * /accounts/invitations/ however it is written, and any run of characters long enough to be a token.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/(\/accounts\/+invitations\/+)[^/?#]+/gi, `$1${REDACTED}`)
    .replace(/[A-Za-z0-9_-]{32,}/g, REDACTED)
}

function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }
}

export function loggerOptions(level: string, destination?: LogDestination): NonNullable<FastifyServerOptions['logger']> {
  const output = destination
    ? { stream: destination }
    : process.stdout.isTTY
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : // Batched: a line per request must not cost a write each on the request path; what waits is
        // written when the process exits.
        { stream: stdoutLogOutput() }
  return {
    level,
    // Labels every line, so the run command's merged output says which process wrote it.
    base: { service: 'api' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { req: serializeRequest },
    ...output,
  }
}

/** One line per request, when it is answered, with the request in it: Fastify writes two (arrival and answer). */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}
