// The address a dashboard connection comes from, which the per-address limits count: the peer's own
// address, or, when the peer is a proxy TRUST_PROXY names, the client it reports in X-Forwarded-For
// (the same rule Fastify applies to the API's request.ip).
import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import type { ProxyTrust } from '@school/config'

export type ClientAddress = (request: IncomingMessage) => string

export function clientAddressOf(trust: ProxyTrust | false): ClientAddress {
  if (trust === false) return (request) => request.socket.remoteAddress ?? 'unknown'
  return (request) => proxyAddr(request, trust)
}
