// The dashboard's read model, shared by the API's initial render and the realtime worker, so both
// show the same numbers and the same sentences.
export { readSchoolMetrics, EMPTY_METRICS } from './metrics.js'
export { describeActivity, toActivity } from './activity.js'
export { eventsSince, loadEvent, recentActivity, toDomainEvent, type LogSlice } from './event-log.js'
export { applyEvent, isApplicable, PoisonEventError } from './metrics-deltas.js'
export { eventMessages, metricsMessage } from './messages-for-event.js'
export { readProjection, type ProjectionState } from './projection-row.js'
export type { DeadLetter } from './dead-letters.js'
export type { ProjectionAdvance } from './projection-fold.js'
export { advanceProjection, advanceProjections } from './projection-advance.js'
export { foldLog, rebuildProjections, type RebuiltProjection } from './projection-rebuild.js'
export {
  LOOKBACK_MS,
  projectionsChangedSince,
  schoolsBehindRecentEvents,
  type ChangedProjections,
  type LaggingSchools,
} from './recent-changes.js'
