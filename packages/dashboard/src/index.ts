// The dashboard's read model, shared by the API's initial render and the realtime worker, so both
// show the same numbers and the same sentences.
export { readSchoolMetrics, EMPTY_METRICS } from './metrics.js'
export { describeActivity, toActivity } from './activity.js'
export { eventsSince, loadEvent, recentActivity, toDomainEvent, type LogSlice } from './event-log.js'
export { applyEvent, isApplicable, PoisonEventError } from './metrics-deltas.js'
export { eventMessages, metricsMessage } from './messages-for-event.js'
export {
  advanceProjection,
  advanceProjections,
  foldLog,
  readProjection,
  rebuildProjections,
  type DeadLetter,
  type ProjectionAdvance,
  type ProjectionState,
  type RebuiltProjection,
} from './projection.js'
export {
  LOOKBACK_MS,
  projectionsChangedSince,
  schoolsBehindRecentEvents,
  type ChangedProjections,
  type LaggingSchools,
} from './recent-changes.js'
