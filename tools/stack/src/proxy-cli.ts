// Runs the one-origin proxy alone (docker-compose's `edge` service): PORT, API_URL and REALTIME_URL.
import { createOneOriginProxy } from '@school/one-origin'

const port = Number(process.env.PORT ?? 8000)
const upstreams = {
  api: process.env.API_URL ?? 'http://127.0.0.1:3000',
  realtime: process.env.REALTIME_URL ?? 'http://127.0.0.1:3001',
}
const server = createOneOriginProxy(upstreams)
server.listen(port, process.env.HOST ?? '0.0.0.0', () => {
  console.log(`edge listening on :${port} (api ${upstreams.api}, realtime ${upstreams.realtime})`)
})
const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
