// The whole system as separate processes behind one origin, and real dashboard clients to talk to it:
// what end-to-end, scale and browser tests share.
export { startService, startSystem, type RunningSystem, type ServiceProcess, type SystemOptions } from './system.js'
export { PlainClient, SocketIoClient, type DashboardClient, type HandshakeRefusal, type ResumeOptions } from './clients.js'
export { Inbox } from './inbox.js'
