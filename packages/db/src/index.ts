// Database access for every service: the Prisma client factory and the migration runner.
export { createPrismaClient, type PrismaClient } from './client.js'
export { applyMigrations, defaultMigrationsDir, ensureDatabase, type MigrationResult } from './migrate.js'
export { Prisma } from './generated/prisma/client.js'
export type {
  User,
  School,
  Membership,
  Invitation,
  SchoolClass,
  DomainEvent as DomainEventRow,
} from './generated/prisma/client.js'
export { Role, InvitationStatus } from './generated/prisma/enums.js'
