// Real dashboard clients for tests, tools and the bench's small fleets: one kit for both transports.
export { PlainClient, SocketIoClient, stillOpen, watching, type DashboardClient, type HandshakeRefusal, type RefusedHandshake, type ResumeOptions, type SocketIoTransport } from './clients.js'
export { Inbox } from './inbox.js'
