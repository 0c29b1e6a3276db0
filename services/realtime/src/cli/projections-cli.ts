// `npm run projections -- <command>`: operator commands for the dashboard projection.
//   check         folds every school's log from scratch and compares it with the stored projection
//   rebuild       recomputes and stores every projection from the log (a running worker waits on the row lock)
//   dead-letters  lists events the projection skipped and jobs that exhausted their retries
//   replay        re-folds the schools that have dead letters (after a fix) and retries failed jobs
import { Queue } from 'bullmq'
import { loadConfig, realtimeConfigSchema } from '@school/config'
import { createPrismaClient, type PrismaClient } from '@school/db'
import { foldLog, isApplicable, readProjection, rebuildProjections, toDomainEvent } from '@school/dashboard'
import { queuePrefix, SCHOOL_EVENTS_QUEUE, type SchoolEventJob } from '@school/events'

const USAGE = 'usage: projections <check|rebuild|dead-letters|replay>'

async function check(prisma: PrismaClient): Promise<boolean> {
  const schools = await prisma.school.findMany({ select: { id: true }, orderBy: { id: 'asc' } })
  let consistent = true
  for (const { id } of schools) {
    const [folded, stored] = [await foldLog(prisma, id), await readProjection(prisma, id)]
    const same = folded.lastSeq === stored.lastSeq && JSON.stringify(folded.metrics) === JSON.stringify(stored.metrics)
    if (!same) {
      consistent = false
      console.log(`school ${id}: stored seq ${stored.lastSeq} ${JSON.stringify(stored.metrics)} != log seq ${folded.lastSeq} ${JSON.stringify(folded.metrics)}`)
    }
  }
  console.log(`${schools.length} schools checked: ${consistent ? 'every projection equals its log' : 'differences found (run rebuild)'}`)
  return consistent
}

async function listDeadLetters(prisma: PrismaClient, queue: Queue<SchoolEventJob>): Promise<void> {
  const letters = await prisma.deadLetterEvent.findMany({ where: { replayedAt: null }, orderBy: [{ schoolId: 'asc' }, { seq: 'asc' }] })
  console.log(`${letters.length} skipped events`)
  for (const letter of letters) console.log(`  school ${letter.schoolId} seq ${letter.seq} event ${letter.eventId}: ${letter.error}`)
  const failed = await queue.getFailed()
  console.log(`${failed.length} failed jobs`)
  for (const job of failed) console.log(`  job ${job.id} school ${job.data.schoolId} seq ${job.data.seq} after ${job.attemptsMade} attempts: ${job.failedReason}`)
}

async function replay(prisma: PrismaClient, queue: Queue<SchoolEventJob>): Promise<void> {
  const letters = await prisma.deadLetterEvent.findMany({ where: { replayedAt: null } })
  const schoolIds = [...new Set(letters.map((letter) => letter.schoolId))]
  // The fold applies what the current code can apply; events it still cannot stay dead letters.
  await rebuildProjections(prisma, schoolIds)
  let recovered = 0
  for (const letter of letters) {
    const row = await prisma.domainEvent.findUnique({ where: { id: letter.eventId }, include: { actor: { select: { id: true, name: true } } } })
    let applicable = false
    try {
      applicable = row !== null && isApplicable(toDomainEvent(row))
    } catch {
      applicable = false
    }
    if (!applicable) continue
    await prisma.deadLetterEvent.update({ where: { eventId: letter.eventId }, data: { replayedAt: new Date() } })
    recovered += 1
  }
  const failed = await queue.getFailed()
  for (const job of failed) await job.retry()
  console.log(`${recovered} of ${letters.length} skipped events now applied (${schoolIds.length} schools rebuilt); ${failed.length} failed jobs retried`)
}

async function main(command: string | undefined): Promise<number> {
  if (!command || !['check', 'rebuild', 'dead-letters', 'replay'].includes(command)) {
    console.error(USAGE)
    return 2
  }
  const config = loadConfig(realtimeConfigSchema)
  const prisma = createPrismaClient(config.DATABASE_URL, { preparedStatements: config.DATABASE_PREPARED_STATEMENTS })
  const queue = new Queue<SchoolEventJob>(SCHOOL_EVENTS_QUEUE, { connection: { url: config.REDIS_URL }, prefix: queuePrefix(config.REDIS_PREFIX) })
  try {
    switch (command) {
      case 'check':
        return (await check(prisma)) ? 0 : 1
      case 'rebuild': {
        const rebuilt = await rebuildProjections(prisma)
        const changed = rebuilt.filter((r) => r.changed)
        for (const r of changed) console.log(`school ${r.schoolId}: rebuilt to seq ${r.lastSeq} ${JSON.stringify(r.metrics)}`)
        console.log(`${rebuilt.length} projections rebuilt from the log, ${changed.length} differed`)
        return 0
      }
      case 'dead-letters':
        await listDeadLetters(prisma, queue)
        return 0
      default:
        await replay(prisma, queue)
        return 0
    }
  } finally {
    await queue.close()
    await prisma.$disconnect()
  }
}

process.exitCode = await main(process.argv[2]).catch((error: unknown) => {
  console.error(`projections failed: ${error instanceof Error ? error.message : String(error)}`)
  return 1
})
