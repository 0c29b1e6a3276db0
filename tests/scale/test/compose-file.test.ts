// Checks docker-compose.yml without a Docker engine: its structure, that each service's environment passes
// the service's own config schema, and that haproxy accepts the config it mounts with compose's servers.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { apiConfigSchema, loadConfig, realtimeConfigSchema } from '@school/config'
import { ensureHaproxy } from '@school/test-support/system'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const COMPOSE_FILE = `${ROOT}docker-compose.yml`
const JWT_SECRET = randomBytes(32).toString('hex')

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  environment?: Record<string, string | number>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }> | string[]
  healthcheck?: { test: string[] }
  networks?: Record<string, { ipv4_address?: string }>
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  networks?: { default?: { ipam?: { config?: Array<{ subnet?: string }> } } }
}
const { services } = compose
const EDGE_ADDRESS = '172.30.0.10'

/** Compose's variable interpolation, for the forms the file uses: ${X}, ${X:-default}, ${X:?message}. */
function interpolate(value: string | number, env: Record<string, string>): string {
  return String(value).replace(/\$\{(\w+)(?::([-?])((?:[^{}]|\$\([^)]*\))*))?\}/g, (_match, name: string, kind?: string, rest?: string) => {
    const set = env[name]
    if (set !== undefined && set !== '') return set
    if (kind === '-') return rest ?? ''
    throw new Error(`compose would stop: ${name} is required (${rest ?? ''})`)
  })
}

const environmentOf = (service: Service, env: Record<string, string> = { JWT_SECRET }) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(value, env)]))

const dependsOn = (service: Service) =>
  Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((name) => [name, { condition: 'service_started' }])) : (service.depends_on ?? {})

t.test('docker compose itself accepts the file, when it is installed', async (t) => {
  const available = await run('docker', ['compose', 'version']).then(
    () => true,
    () => false,
  )
  if (!available) {
    t.comment('docker compose is not available here: the checks below stand in for `docker compose config`')
    return
  }
  await t.resolves(run('docker', ['compose', '-f', COMPOSE_FILE, 'config', '--quiet'], { env: { ...process.env, JWT_SECRET } }))
})

t.test('runs two api and two realtime instances behind the edge load balancer', async (t) => {
  t.same(Object.keys(services).sort(), ['api-1', 'api-2', 'edge', 'grafana', 'postgres', 'prometheus', 'realtime-1', 'realtime-2', 'redis', 'setup'])
  for (const name of ['postgres', 'redis']) t.ok(services[name]!.healthcheck?.test.length, `${name} has a healthcheck`)
  t.same(dependsOn(services.setup!), { postgres: { condition: 'service_healthy' } }, 'setup waits for a healthy postgres')

  for (const [name, kind] of [['api-1', 'api'], ['api-2', 'api'], ['realtime-1', 'realtime'], ['realtime-2', 'realtime']] as const) {
    const service = services[name]!
    t.ok(service.build !== undefined && service.image, `${name} is built from the repository's Dockerfile`)
    t.same(service.command, ['node', `services/${kind}/dist/server.js`], `${name} runs the ${kind} server`)
    t.same(
      dependsOn(service),
      { setup: { condition: 'service_completed_successfully' }, redis: { condition: 'service_healthy' } },
      `${name} starts after the migrations and a healthy redis`,
    )
    const port = kind === 'api' ? 3000 : 3001
    t.match(service.healthcheck?.test.join(' '), `http://127.0.0.1:${port}/healthz`, `${name} is healthy when /healthz answers`)
    // The service's own schema: what it would refuse at start-up is refused here.
    const env = environmentOf(service)
    const config = loadConfig(kind === 'api' ? apiConfigSchema : realtimeConfigSchema, env)
    t.equal(config.NODE_ENV, 'production')
    t.equal(config.PORT, port, `${name} listens on ${port}`)
    t.equal(config.HOST, '0.0.0.0', `${name} listens on every interface of its container`)
    t.match(config.DATABASE_URL, /@postgres:5432\//)
    t.equal(config.REDIS_URL, 'redis://redis:6379')
    t.equal(config.JWT_SECRET, JWT_SECRET, `${name} takes JWT_SECRET from the caller`)
    t.equal(config.TRUST_PROXY, EDGE_ADDRESS, `${name} trusts the edge, and only it, to say who the client is`)
    if (kind === 'api') t.equal(env.PUBLIC_URL, 'http://localhost:8000', 'links point at the edge by default')
  }
  t.throws(() => environmentOf(services['api-1']!, {}), /JWT_SECRET is required/, 'compose refuses to start without JWT_SECRET')
})

t.test('the edge is haproxy on port 8000 with the config of deploy/, and that config is valid', async (t) => {
  const edge = services.edge!
  t.match(edge.image, /^haproxy:2\.\d+/)
  t.same(edge.ports, ['8000:8000'])
  t.same(
    dependsOn(edge),
    Object.fromEntries(['api-1', 'api-2', 'realtime-1', 'realtime-2'].map((name) => [name, { condition: 'service_healthy' }])),
    'the edge starts once every instance is healthy',
  )
  const mount = (edge.volumes ?? []).find((volume) => volume.endsWith(':/usr/local/etc/haproxy/haproxy.cfg:ro'))
  t.ok(mount, 'mounts a config where the haproxy image reads it')
  const source = `${ROOT}${mount!.split(':')[0]!.replace(/^\.\//, '')}`
  t.ok(existsSync(source), `${source} exists`)

  t.equal(edge.networks?.default?.ipv4_address, EDGE_ADDRESS, 'the edge has the fixed address the apps trust')
  t.same(compose.networks?.default?.ipam?.config, [{ subnet: '172.30.0.0/24' }], 'in a subnet of fixed addresses')
  const frontend = readFileSync(source, 'utf8')
  t.match(frontend, /^\s*option forwardfor\s*$/m, 'haproxy appends the client address to X-Forwarded-For')

  const env = environmentOf(edge)
  t.same(
    [env.API_1, env.API_2, env.REALTIME_1, env.REALTIME_2],
    ['api-1:3000', 'api-2:3000', 'realtime-1:3001', 'realtime-2:3001'],
    'the servers are the compose services on their ports',
  )
  const haproxy = ensureHaproxy()
  // The compose host names do not resolve here: haproxy says so per server (and would resolve them at
  // run time through Docker's DNS), which also shows that exactly these servers are configured.
  const { stdout, stderr } = await run(haproxy, ['-c', '-f', source], { env: { PATH: process.env.PATH ?? '', ...env } })
  const output = stdout + stderr
  t.match(output, /Configuration file is valid/)
  for (const server of ['api/api-1', 'api/api-2', 'realtime/realtime-1', 'realtime/realtime-2']) {
    t.match(output, `'server ${server}'`, `haproxy configured ${server}`)
  }
  t.notMatch(output, /ALERT/)
  t.notMatch(output, /realtime-3|api-3/, 'no other server slot is in use')
})

t.test('prometheus scrapes every instance and grafana loads the pipeline dashboard from the repository', async (t) => {
  const prometheus = services.prometheus!
  const grafana = services.grafana!
  const mounted = (service: Service) => (service.volumes ?? []).map((volume) => String(volume).split(':')[0]!)
  for (const path of [...mounted(prometheus), ...mounted(grafana)]) t.ok(existsSync(join(ROOT, path)), `${path} exists`)
  const config = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>
  }
  const targets = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.static_configs.flatMap((c) => c.targets)]))
  t.same(targets, { api: ['api-1:3000', 'api-2:3000'], realtime: ['realtime-1:3001', 'realtime-2:3001'] }, 'every app instance, on its own port')
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/school-dashboard-pipeline.json'), 'utf8')) as {
    panels: Array<{ targets: Array<{ expr: string }> }>
  }
  t.ok(dashboard.panels.length >= 10, `${dashboard.panels.length} panels`)
  for (const { targets } of dashboard.panels) for (const { expr } of targets) t.ok(expr.trim().length > 0)
})
