// Spreads client sockets over loopback source addresses: one address has about 28,000 ephemeral ports
// towards one server port, so 40,000 connections need a second address (127.0.0.2, ...); and a service
// that limits connections per client address sees each address as one client.
export const CONNECTIONS_PER_SOURCE_ADDRESS = 20_000

/** The n-th loopback address from 127.0.0.1 (127.0.0.254 is followed by 127.0.1.1). */
export function loopbackAddress(n: number): string {
  return `127.0.${Math.floor(n / 254)}.${1 + (n % 254)}`
}

/**
 * The local address for the i-th client, or undefined when one address is enough for the whole fleet.
 * `perAddress` below the default keeps each address under a service's per-address connection limit.
 */
export function sourceAddressFor(index: number, fleetSize: number, perAddress = CONNECTIONS_PER_SOURCE_ADDRESS): string | undefined {
  if (fleetSize <= perAddress) return undefined
  return loopbackAddress(Math.floor(index / perAddress))
}
