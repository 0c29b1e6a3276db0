// Database access for every service: the Prisma client factory, the migration runner and the event log
// (appending, its jobs, the enqueued marks).
export { createPrismaClient, type PrismaClient } from './client.js'
export { applyMigrations, defaultMigrationsDir, ensureDatabase, type MigrationResult } from './migrate.js'
export {
  appendDomainEvent,
  insertDomainEvent,
  takeNextSeq,
  invitationEventPayload,
  invitationEventPayloadSql,
  schoolEventJob,
  markEnqueued,
  type NewDomainEvent,
  type InsertedDomainEvent,
  type CommittedEvent,
  type SchoolEventJobToAdd,
  type TransactionClient,
} from './event-log.js'
export { addMember, type NewMember } from './members.js'
export { Prisma } from './generated/prisma/client.js'
export type {
  User,
  School,
  Membership,
  Invitation,
  SchoolClass,
  DomainEvent as DomainEventRow,
  SchoolDashboardProjection,
  DeadLetterEvent,
} from './generated/prisma/client.js'
export { Role, InvitationStatus } from './generated/prisma/enums.js'
