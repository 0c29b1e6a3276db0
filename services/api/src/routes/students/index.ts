// Students: school admins register them, with or without an email.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { registerStudent } from '../../domain/students.js'
import { normalizeEmail } from '../../domain/users.js'
import { valueOrRefusalError } from '../../http-errors.js'
import { schoolAdminOf } from '../../plugins/auth.js'
import { errorResponses, SchoolParams } from '../../schemas/common.js'
import { RegisteredStudent, RegisterStudentBody } from '../../schemas/students.js'
import { callContextOf } from '../call-context.js'
import type { RouteDeps } from '../route-deps.js'

const studentRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { prisma, publisher }) => {
  app.post(
    '/api/accounts/schools/:id/students',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['students'],
        summary: 'Register a student',
        description: 'Owners and admins only. The email is optional; a student without one cannot sign in. Emits `student.registered`.',
        params: SchoolParams,
        body: RegisterStudentBody,
        response: { 201: RegisteredStudent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const admin = schoolAdminOf(request)
      const student = valueOrRefusalError(
        await registerStudent({ prisma, publisher }, callContextOf(request), {
          schoolId: admin.schoolId,
          actorId: admin.user.id,
          name: request.body.name.trim(),
          email: request.body.email === undefined ? null : normalizeEmail(request.body.email),
        }),
      )
      return reply.status(201).send(student)
    },
  )
}

export default studentRoutes
