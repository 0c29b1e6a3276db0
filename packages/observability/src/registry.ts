// One Prometheus registry per service: Node's default metrics (event-loop lag, heap, GC, handles) and a
// `dependency_up` gauge probed at scrape time, every series labelled `service`.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import { checkReadiness, type DependencyChecks } from './readiness.js'

export interface ServiceRegistry {
  registry: Registry
  /** The text exposition format, ready for `GET /metrics`. */
  metrics(): Promise<string>
  contentType: string
}

export function createServiceRegistry(service: string, dependencies: DependencyChecks): ServiceRegistry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  new Gauge({
    name: 'dependency_up',
    help: 'Whether a dependency answered its readiness probe at scrape time (1) or not (0).',
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      const { checks } = await checkReadiness(dependencies)
      for (const [dependency, state] of Object.entries(checks)) this.set({ dependency }, state === 'ok' ? 1 : 0)
    },
  })
  return { registry, metrics: () => registry.metrics(), contentType: registry.contentType }
}
