// The dashboard's first render, read in one snapshot so that the metrics, the activity and
// lastEventSeq describe the same moment of the school's log.
import { readSchoolMetrics, recentActivity } from '@school/dashboard'
import { Prisma, type PrismaClient } from '@school/db'
import type { Activity, SchoolMetrics } from '@school/events'
import { done, refuse, type Outcome } from './outcomes.js'

export const RECENT_ACTIVITY_LIMIT = 20

export interface DashboardView {
  school: { id: number; name: string }
  metrics: SchoolMetrics
  recentActivity: Activity[]
  lastEventSeq: number
}

export function readDashboard(prisma: PrismaClient, schoolId: number): Promise<Outcome<DashboardView, 'school_not_found'>> {
  return prisma.$transaction(
    async (tx): Promise<Outcome<DashboardView, 'school_not_found'>> => {
      const school = await tx.school.findUnique({ where: { id: schoolId }, select: { id: true, name: true, lastEventSeq: true } })
      if (!school) return refuse('school_not_found')
      const [metrics, activity] = [await readSchoolMetrics(tx, schoolId), await recentActivity(tx, schoolId, RECENT_ACTIVITY_LIMIT)]
      return done({ school: { id: school.id, name: school.name }, metrics, recentActivity: activity, lastEventSeq: school.lastEventSeq })
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
  )
}
