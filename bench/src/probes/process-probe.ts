// Preloaded (`node --expose-gc --import`) into every server the bench starts: answers IPC requests for the
// process's memory (after a full GC), CPU time and pauses since the previous request (pause-monitor.ts), for
// a census of its heap objects by constructor name (a heap snapshot), and to start and stop a CPU profile of
// a window, without changing the server's own code.
import process from 'node:process'
import { takeHeapCensus } from './heap-census.js'
import { startPauseMonitor } from './pause-monitor.js'
import { startWindowProfile, stopWindowProfile } from './window-profile.js'

interface ProbeRequest {
  type: 'bench:probe'
  id: number
  gc: boolean
}

interface CensusRequest {
  type: 'bench:census'
  id: number
  names: string[]
}

interface ProfileRequest {
  type: 'bench:profile'
  id: number
  /** Where to write the profile when stopping; absent to start one. */
  stopInto?: string
}

if (process.send) {
  process.channel?.unref()
  const pauses = startPauseMonitor()
  process.on('message', (message: ProbeRequest | CensusRequest | ProfileRequest) => {
    if (message?.type === 'bench:profile') {
      const done = message.stopInto === undefined ? startWindowProfile() : stopWindowProfile(message.stopInto)
      done.then(
        () => process.send?.({ type: 'bench:profile', id: message.id }),
        (error: unknown) => process.send?.({ type: 'bench:profile', id: message.id, error: String(error) }),
      )
      return
    }
    if (message?.type === 'bench:census') {
      const started = performance.now()
      takeHeapCensus(message.names).then(
        ({ counts, bytes }) => process.send?.({ type: 'bench:census', id: message.id, counts, bytes, ms: performance.now() - started }),
        (error: unknown) => process.send?.({ type: 'bench:census', id: message.id, error: String(error) }),
      )
      return
    }
    if (message?.type !== 'bench:probe') return
    // Read before a forced GC: that GC's pauses fall into the next reading.
    const since = pauses.take()
    const collect = (globalThis as { gc?: () => void }).gc
    if (message.gc && collect) {
      // Twice: the first pass can leave objects whose finalizers free more on the second.
      collect()
      collect()
    }
    const memory = process.memoryUsage()
    const cpu = process.cpuUsage()
    process.send?.({ type: 'bench:probe', id: message.id, heapUsed: memory.heapUsed, rss: memory.rss, cpuUs: cpu.user + cpu.system, pauses: since })
  })
}
