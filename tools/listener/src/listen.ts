#!/usr/bin/env node
// `npm run listen -- --school 1 --email ... --password ...`: prints a school's live dashboard messages in
// the terminal and keeps them coming across reconnections; Ctrl-C (SIGINT) stops it with exit code 0.
import { readOptions, USAGE, UsageError } from './cli-options.js'
import { ListenerSession } from './listener-session.js'
import { connectPlainWebSocket } from './plain-websocket-connection.js'
import { connectSocketIo } from './socket-io-connection.js'

let options
try {
  options = readOptions(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`listen: ${error.message}\n\n${USAGE}`)
  process.exit(2)
}
if (options === 'help') {
  console.log(USAGE)
  process.exit(0)
}

const session = new ListenerSession(options, {
  connect: options.transport === 'socket.io' ? connectSocketIo : connectPlainWebSocket,
  output: {
    message: (line) => process.stdout.write(`${line}\n`),
    status: (line) => process.stderr.write(`${line}\n`),
  },
})

let stopping = false
const stop = (signal: NodeJS.Signals) => {
  if (stopping) {
    // A second Ctrl-C: do not wait for the close handshake.
    process.exit(0)
  }
  stopping = true
  process.stderr.write(`${new Date().toISOString()}  -- ${signal}: stopping\n`)
  session.stop()
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

const code = await session.run()
process.exitCode = code
// Nothing else should keep the process alive; if something does (a socket's lingering timer), leave anyway.
setTimeout(() => process.exit(code), 2_000).unref()
