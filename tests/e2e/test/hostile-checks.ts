// What every hostile test checks after its attack: both services still answer /healthz, and a
// legitimate dashboard connection still opens on both transports and gets its snapshot; and the probes
// hostile tests share (a process's resident memory, a handshake's refusal).
import type { Test } from 'tap'
import { PlainClient, SocketIoClient, type HandshakeRefusal, type RunningSystem } from '@school/test-support/system'

export interface Legitimate {
  token: string
  schoolId: number
}

export async function assertStillHealthy(t: Test, system: RunningSystem, legitimate: Legitimate): Promise<void> {
  for (const service of [system.api, system.realtime]) {
    const response = await fetch(`${service.url}/healthz`)
    t.equal(response.status, 200, `${service.name} /healthz answers 200`)
  }
  const clients = [
    await PlainClient.connect(system.origin, legitimate.schoolId, legitimate.token),
    await SocketIoClient.connect(system.origin, legitimate.schoolId, legitimate.token),
  ]
  try {
    for (const client of clients) {
      await client.inbox.waitFor((m) => m.type === 'metrics_update', `the snapshot on ${client.kind}`)
      t.equal(client.inbox.messages[0]?.type, 'connection_established', `a legitimate ${client.kind} connection still works`)
    }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
  }
}

/** The HTTP refusal of a plain WebSocket handshake, or null if it was accepted (and is closed again). */
export async function plainRefusal(connecting: Promise<PlainClient>): Promise<HandshakeRefusal | null> {
  return connecting.then(
    async (client) => {
      await client.close()
      return null
    },
    (error: { refusal?: HandshakeRefusal }) => {
      if (!error.refusal) throw error
      return error.refusal
    },
  )
}

/** A Socket.IO connect_error as {message, data}, or null if the connection was accepted (and is closed again). */
export async function socketIoRefusal(connecting: Promise<SocketIoClient>): Promise<{ message: string; data: unknown } | null> {
  return connecting.then(
    async (client) => {
      await client.close()
      return null
    },
    (error: Error & { data?: unknown }) => ({ message: error.message, data: error.data }),
  )
}

/** A service's resident memory, from its Prometheus /metrics. */
export async function residentBytes(serviceUrl: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text()
  return Number(/^process_resident_memory_bytes\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0)
}
