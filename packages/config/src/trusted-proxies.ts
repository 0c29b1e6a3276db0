// Which peers may say who the client is (X-Forwarded-For), read the same way by the API (Fastify's
// trustProxy, behind the per-IP sign-in limit) and the realtime service (per-IP connection limits):
// TRUST_PROXY lists addresses, CIDR ranges or the names loopback, linklocal and uniquelocal. Empty trusts
// nobody, which is right when the service is reached directly.
import proxyAddr from '@fastify/proxy-addr'

/** proxy-addr's trust function: may the peer `address`, `hop` steps from the socket, report the one before it? */
export type ProxyTrust = (address: string, hop: number) => boolean

function entriesOf(list: string): string[] {
  return list.split(',').map((entry) => entry.trim()).filter(Boolean)
}

/** What is wrong with a TRUST_PROXY value, if anything. */
export function trustProxyProblem(list: string): string | undefined {
  const entries = entriesOf(list)
  if (entries.length === 0) return undefined
  // Fastify (>= 5.12.1) ignores hop counts, and `true` would let any client choose its own address.
  if (entries.some((entry) => /^\d+$/.test(entry) || entry === 'true' || entry === '*')) {
    return 'TRUST_PROXY lists the proxies to trust by address (e.g. 10.0.0.5, 172.30.0.0/24, loopback), not a hop count or "true"'
  }
  try {
    proxyAddr.compile(entries)
    return undefined
  } catch (error) {
    return `TRUST_PROXY ${(error as Error).message} (addresses, CIDR ranges, loopback, linklocal or uniquelocal)`
  }
}

/** The trust function of a TRUST_PROXY value loadConfig accepted, or false when it trusts nobody. */
export function proxyTrust(list: string): ProxyTrust | false {
  const entries = entriesOf(list)
  return entries.length === 0 ? false : proxyAddr.compile(entries)
}
