// What operators see of a service: its Prometheus registry (default process metrics, labelled with the
// service) and the readiness of the dependencies it cannot work without.
export { createServiceRegistry, type ServiceRegistry } from './registry.js'
export { checkReadiness, type DependencyChecks, type Readiness } from './readiness.js'
export { createEventStageHistogram, EVENT_STAGE_METRIC, STAGE_BUCKETS } from './event-stages.js'
export { batchedLogOutput, stdoutLogOutput, LOG_BATCH_BYTES, LOG_BATCH_DELAY_MS, type BatchedLogOptions, type BatchedLogOutput } from './log-output.js'
