// The README's Python session, run for real: a client in another language gets the same protocol.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startSystem } from '@school/test-support/system'

const python = '/usr/bin/python3'
const hasWebsockets = spawnSync(python, ['-c', 'import websockets'], { stdio: 'ignore' }).status === 0

t.test('the Python websockets client from the README receives the live dashboard', { skip: hasWebsockets ? false : 'python3-websockets is not installed (apt-get install python3-websockets)' }, async (t) => {
  const system = await startSystem(t, 'e2e_python')
  const { fixture } = system
  const script = fileURLToPath(new URL('../../../examples/python/dashboard_client.py', import.meta.url))
  const child = spawn(python, [
    script,
    '--origin', system.origin,
    '--school', String(fixture.schoolA.id),
    '--email', fixture.ownerA.email,
    '--password', fixture.ownerA.password,
    // Six dashboard messages plus one presence_update (this client itself joining the watchers).
    '--max-messages', '7',
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null) child.kill()
  })
  const lines: string[] = []
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = once(child, 'exit')
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line)
      if (line.startsWith('pong ')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`python client exited with ${code}: ${stderr}`)))
  })
  const token = await system.login(fixture.ownerA)
  const { status } = await system.request('POST', `/api/accounts/schools/${fixture.schoolA.id}/invitations/`, {
    token,
    body: { email: 'py@example.com', role: 'student' },
  })
  t.equal(status, 201)
  const [code] = await exited
  t.equal(code, 0, stderr)
  const presence = lines.filter((line) => line.startsWith('presence_update '))
  t.equal(presence.length, 1, 'one presence_update: the client itself is watching')
  t.match(JSON.parse(presence[0]!.slice('presence_update '.length)), { watchers: [{ id: fixture.ownerA.id, connections: 1 }] })
  const dashboard = lines.filter((line) => !line.startsWith('presence_update '))
  t.same(dashboard.map((line) => line.split(' ')[0]), [
    'connection_established',
    'metrics_update',
    'pong',
    'invitation_status_update',
    'activity_new',
    'metrics_update',
  ])
  t.equal(dashboard[2], 'pong "hello from python"')
  t.match(JSON.parse(dashboard[3]!.slice('invitation_status_update '.length)), { email: 'py@example.com', role: 'student', status: 'pending' })
})

t.test('the Python client renews its access token in band and stays on one connection', { skip: hasWebsockets ? false : 'python3-websockets is not installed (apt-get install python3-websockets)' }, async (t) => {
  const system = await startSystem(t, 'e2e_python_renewal', { apiEnv: { ACCESS_TOKEN_TTL_S: '4' }, realtimeEnv: { TOKEN_EXPIRING_NOTICE_S: '2' } })
  const { fixture } = system
  const script = fileURLToPath(new URL('../../../examples/python/dashboard_client.py', import.meta.url))
  // connection_established, metrics_update, presence_update, pong, then two renewals (expiring, refreshed).
  const child = spawn(python, [script, '--origin', system.origin, '--school', String(fixture.schoolA.id), '--email', fixture.ownerA.email, '--password', fixture.ownerA.password, '--max-messages', '8'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill()
  })
  const lines: string[] = []
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line))
  const [code] = await once(child, 'exit')
  t.equal(code, 0, stderr)
  const types = lines.map((line) => line.split(' ')[0])
  t.equal(types.filter((type) => type === 'connection_established').length, 1, 'one connection all along')
  t.equal(types.filter((type) => type === 'token_refreshed').length, 2, 'renewed twice in band')
  t.equal(types.filter((type) => type === 'error').length, 0, 'no error')
})
