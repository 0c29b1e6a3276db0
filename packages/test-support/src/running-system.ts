// The whole system as separate processes behind one origin, and real dashboard clients to talk to it:
// what end-to-end, scale and browser tests (and the bench's scale-out scenario) share; the real load balancer,
// and a view of the commands our processes send to Redis.
export { startService, startSystem, type RunningSystem, type ServiceProcess, type SystemOptions } from './system.js'
export { PlainClient, SocketIoClient, stillOpen, watching, type DashboardClient, type HandshakeRefusal, type RefusedHandshake, type ResumeOptions } from './clients.js'
export { Inbox } from './inbox.js'
export { ensureHaproxy, HAPROXY_CONFIG, hostPort, serverSlots, startLoadBalancer, type LoadBalancer, type ServerStats, type ServerStatus } from './load-balancer.js'
export { monitorCommands, redisCli, redisClients, redisPortsOf, shardSubscribers, shardSubscriptionsOf, total, type CommandLog } from './redis-observer.js'
