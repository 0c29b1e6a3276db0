// `npm run db:migrate`: creates the database if needed and applies pending migrations.
import { DEFAULT_DATABASE_URL } from '@school/config'
import { applyMigrations, ensureDatabase } from '../migrate.js'

const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL
const safeUrl = databaseUrl.replace(/\/\/[^@/]*@/, '//***@')

try {
  if (await ensureDatabase(databaseUrl)) console.log(`created database ${safeUrl}`)
  const { applied, alreadyApplied } = await applyMigrations(databaseUrl, { log: (line) => console.log(line) })
  console.log(`migrations: ${applied.length} applied, ${alreadyApplied.length} already applied (${safeUrl})`)
} catch (error) {
  console.error(`db:migrate failed: ${(error as Error).message}`)
  process.exitCode = 1
}
