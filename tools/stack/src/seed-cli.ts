// `npm run db:seed`: migrates (creating the database if needed) and loads the demo data.
import { applyMigrations, createPrismaClient, ensureDatabase } from '@school/db'
import { DEFAULT_DATABASE_URL } from '@school/config'
import { seedDemoData } from './demo-data.js'

const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL
const prisma = createPrismaClient(databaseUrl, { maxConnections: 2 })
try {
  await ensureDatabase(databaseUrl)
  await applyMigrations(databaseUrl)
  const result = await seedDemoData(prisma)
  console.log(
    `demo data: ${result.createdSchools} schools, ${result.createdUsers} users, ${result.createdMemberships} memberships created`,
  )
} catch (error) {
  console.error(`db:seed failed: ${(error as Error).message}`)
  process.exitCode = 1
} finally {
  await prisma.$disconnect()
}
