// The bare Socket.IO baseline measures the same socket.io as the realtime service: a version that differs
// (an upgrade of one and not the other) would compare two libraries, not our code with Socket.IO's.
import { createRequire } from 'node:module'
import t from 'tap'

const versionFrom = (packageJson: URL): string => (createRequire(packageJson)('socket.io/package.json') as { version: string }).version

t.test('the bench and the realtime service resolve the same socket.io', async (t) => {
  const bench = versionFrom(new URL('../package.json', import.meta.url))
  const realtime = versionFrom(new URL('../../services/realtime/package.json', import.meta.url))
  t.equal(bench, realtime, `bench socket.io ${bench}, realtime socket.io ${realtime}`)
})
