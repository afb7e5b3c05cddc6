import { API_ROUTES } from '../../protocol/api/index.js'
import type { EnrollmentService } from '../enrollment/enrollment-service.js'
import { Created } from './http-errors.js'
import { jsonBody } from './request.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'

/**
 * POST /api/v1/enroll (public: the join token is the credential). An address that failed too
 * often gets 429 with Retry-After before its body is read; an unreadable body counts as a failure.
 */
export function registerEnrollmentRoute(router: Router, enrollments: EnrollmentService): void {
  router.route(API_ROUTES.enroll, (context) =>
    answer(async () => {
      const address = context.req.socket.remoteAddress ?? 'unknown'
      enrollments.admit(address)
      const request = await jsonBody(context, API_ROUTES.enroll.body.schema, 'enrollment request').catch((error: unknown) => {
        enrollments.refused(address)
        throw error
      })
      return new Created(await enrollments.enroll(request, address))
    }, context.res),
  )
}
