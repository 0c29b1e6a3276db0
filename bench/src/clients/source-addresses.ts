// Spreads client sockets over loopback source addresses: one address has about 28,000 ephemeral ports
// towards one server port, so 40,000 connections need a second address (127.0.0.2, ...).
export const CONNECTIONS_PER_SOURCE_ADDRESS = 20_000

/** The local address for the i-th client, or undefined when one address is enough for the whole fleet. */
export function sourceAddressFor(index: number, fleetSize: number): string | undefined {
  if (fleetSize <= CONNECTIONS_PER_SOURCE_ADDRESS) return undefined
  return `127.0.0.${1 + Math.floor(index / CONNECTIONS_PER_SOURCE_ADDRESS)}`
}
