// The dashboard's read model, shared by the API's initial render and the realtime worker, so both
// show the same numbers and the same sentences.
export { readSchoolMetrics, EMPTY_METRICS } from './metrics.js'
export { describeActivity, toActivity } from './activity.js'
export { loadEvent, recentActivity, toDomainEvent } from './event-log.js'
export { messagesForEvent } from './messages-for-event.js'
