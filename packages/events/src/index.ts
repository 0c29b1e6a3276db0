// The contracts the API and the realtime service meet through: the queue, its jobs and the messages
// every dashboard client receives. Neither service imports the other; both import this.
export * from './domain-events.js'
export * from './dashboard-access.js'
export * from './queue.js'
export * from './messages.js'
