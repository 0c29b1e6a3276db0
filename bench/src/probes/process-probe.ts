// Preloaded (`node --expose-gc --import`) into every server the bench starts: answers IPC requests for the
// process's memory (after a full GC) and CPU time, without changing the server's own code.
import process from 'node:process'

interface ProbeRequest {
  type: 'bench:probe'
  id: number
  gc: boolean
}

if (process.send) {
  process.channel?.unref()
  process.on('message', (message: ProbeRequest) => {
    if (message?.type !== 'bench:probe') return
    const collect = (globalThis as { gc?: () => void }).gc
    if (message.gc && collect) {
      // Twice: the first pass can leave objects whose finalizers free more on the second.
      collect()
      collect()
    }
    const memory = process.memoryUsage()
    const cpu = process.cpuUsage()
    process.send?.({ type: 'bench:probe', id: message.id, heapUsed: memory.heapUsed, rss: memory.rss, cpuUs: cpu.user + cpu.system })
  })
}
