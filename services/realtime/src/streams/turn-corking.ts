// Writes made to one connection in the same turn of the event loop leave in one system call. An event
// is three messages (its activity, its status change and the school's counters), published together: each
// was a frame of its own and a write of its own per connection. The connection's socket is corked at the
// first write of a turn and uncorked once the turn's synchronous work is done, so the frames go out in
// one writev. Nothing waits longer than the turn; no timer is involved.
import type { Writable } from 'node:stream'

export interface TurnCorking {
  /** Holds the socket's writes until the end of the current turn (once per socket and turn). */
  hold(socket: Writable): void
}

export function createTurnCorking(): TurnCorking {
  const held = new Set<Writable>()
  const release = () => {
    for (const socket of held) socket.uncork()
    held.clear()
  }
  return {
    hold(socket) {
      if (held.has(socket)) return
      if (held.size === 0) process.nextTick(release)
      socket.cork()
      held.add(socket)
    },
  }
}
