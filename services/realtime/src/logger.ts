// The service's pino logger: JSON lines for machines, pretty output only when a person is watching.
import { pino, type Logger } from 'pino'
import type { RealtimeConfig } from '@school/config'
import { stdoutLogOutput } from '@school/observability'

export type { Logger }

export function createLogger(config: Pick<RealtimeConfig, 'LOG_LEVEL'>, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true
  const settings = {
    level: config.LOG_LEVEL,
    base: { service: 'realtime' },
    // Belt and braces: no code path logs these, but a future `log.info({ req })` must not leak them.
    redact: { paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
  }
  if (pretty) return pino({ ...settings, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } })
  // Batched writes to stdout: a line per emitted event must not cost a write each on the event path;
  // what waits is written when the process exits.
  return pino(settings, stdoutLogOutput())
}
