import { API_ROUTES } from '../../protocol/api/index.js'
import type { JobService } from '../jobs/job-service.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'

/** /api/v1/jobs: list, show and delete jobs (their output: logs-route.ts). */
export function registerJobRoutes(router: Router, jobs: JobService): void {
  router.route(API_ROUTES.listJobs, () => jobs.list())
  router.route(API_ROUTES.getJob, (context) => answer(() => jobs.get(context.params.name ?? '')))
  router.route(API_ROUTES.deleteJob, (context) => answer(() => jobs.delete(context.params.name ?? '', context.actor)))
}
