// The dashboard's read model, shared by the API's initial render and the realtime worker, so both
// show the same numbers and the same sentences.
export { readSchoolMetrics } from './metrics.js'
export { eventRowOfJob, eventsSince, recentActivity, toDomainEvent, type EventRowWithActor, type LogSlice } from './event-log.js'
export { isApplicable } from './metrics-deltas.js'
export { eventMessages, metricsMessage } from './messages-for-event.js'
export { readProjection, type ProjectionState } from './projection-row.js'
export type { DeadLetter } from './dead-letters.js'
export type { ProjectionAdvance } from './projection-fold.js'
export { advanceProjections, type AdvancedProjection, type KnownWindow } from './projection-advance.js'
export { foldLog, rebuildProjections, type RebuiltProjection } from './projection-rebuild.js'
export { projectionsChangedSince, schoolsBehindRecentEvents, type ChangedProjections, type LaggingSchools } from './recent-changes.js'
