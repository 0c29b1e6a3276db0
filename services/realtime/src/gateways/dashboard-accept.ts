// The accept step both gateways run before a dashboard connection opens: the Origin check, the handshake
// (handshake.ts) and the log line of every refusal, and the connection-limit lease held until the
// connection ends. A transport plugs in by reading the credentials its way and answering the outcome its
// way (an HTTP response before the upgrade, Socket.IO's connect_error); once the connection is open,
// DashboardConnection takes over.
import type { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { DashboardTransport } from '@school/events'
import { ORIGIN_REFUSAL, originAllowed } from '../guards/connection-guards.js'
import { HANDSHAKE_FAILED, type Handshake, type HandshakeResult } from './handshake.js'

export interface AcceptServices {
  handshake: Handshake
  logger: Logger
  /** Browser origins allowed to connect (requests without Origin are not browsers). */
  allowedOrigins: ReadonlySet<string>
}

/** A connection request as a transport read it. */
export interface AcceptRequest {
  origin: string | undefined
  token: string | undefined
  /** As the client sent it; the handshake validates it. */
  schoolId: unknown
  since: unknown
  /** Where the request comes from (read once the origin is allowed: it may depend on proxy settings). */
  clientAddress(): string
  /** Fields the transport adds to a refusal's log line (the plain endpoint's path). */
  logFields?: Record<string, unknown>
}

/** Accepts or refuses one connection request; an unexpected failure is logged and refused as HANDSHAKE_FAILED. */
export type AcceptStep = (request: AcceptRequest) => Promise<HandshakeResult>

export function createAcceptStep(transport: DashboardTransport, { handshake, logger, allowedOrigins }: AcceptServices): AcceptStep {
  return async ({ origin, token, schoolId, since, clientAddress: addressOf, logFields }) => {
    if (!originAllowed(origin, allowedOrigins)) {
      logger.info({ transport, status: ORIGIN_REFUSAL.status, code: ORIGIN_REFUSAL.code, origin }, 'dashboard connection refused')
      return { accepted: false, refusal: ORIGIN_REFUSAL }
    }
    let clientAddress: string
    let result: HandshakeResult
    try {
      clientAddress = addressOf()
      result = await handshake({ token, schoolId, since, clientAddress })
    } catch (error) {
      logger.error({ err: error }, `${transport} handshake failed`)
      return { accepted: false, refusal: HANDSHAKE_FAILED }
    }
    if (!result.accepted) {
      const { status, code } = result.refusal
      // Floods are refused by the thousand: their refusals are logged at debug, the others at info.
      logger[status === 429 ? 'debug' : 'info']({ transport, status, code, ...logFields, clientAddress }, 'dashboard connection refused')
    }
    return result
  }
}

/**
 * Gives an accepted connection's lease back when `owner` emits `endEvent`, whichever way the connection
 * ends, or at once if it has already gone (`ended`). `release` is one listener shared by every connection of
 * the transport (`this` is the owner), so that nothing is allocated per connection for it.
 */
export function holdLease<T extends EventEmitter>(owner: T, endEvent: string, release: (this: T) => void, ended: boolean): void {
  owner.on(endEvent, release)
  if (ended) release.call(owner)
}
