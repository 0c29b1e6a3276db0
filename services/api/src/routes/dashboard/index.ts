// The school dashboard's first render; the realtime service keeps it current from there.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { readDashboard } from '../../domain/dashboard.js'
import { valueOrRefusalError } from '../../http-errors.js'
import { schoolAdminOf } from '../../plugins/auth.js'
import { errorResponses, SchoolParams } from '../../schemas/common.js'
import { Dashboard } from '../../schemas/dashboard.js'
import type { RouteDeps } from '../route-deps.js'

const dashboardRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { prisma }) => {
  app.get(
    '/api/accounts/schools/:id/dashboard',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['dashboard'],
        summary: "The dashboard's first render",
        description:
          'Owners and admins only. The school, its counters, the recent activity (newest first) and `lastEventSeq`; ' +
          'live messages with a higher `seq` are news (docs/PROTOCOL.md). Also the way to reload the feed after ' +
          '`resume_unavailable`.',
        params: SchoolParams,
        response: { 200: Dashboard, ...errorResponses },
      },
    },
    async (request) => valueOrRefusalError(await readDashboard(prisma, schoolAdminOf(request).schoolId)),
  )
}

export default dashboardRoutes
