import { API_ROUTES } from '../../protocol/api/index.js'
import type { CronJobService } from '../cron-jobs/cron-job-service.js'
import type { Router } from './router.js'
import { selectorOf } from './selector-query.js'
import { answer } from './service-errors.js'

/** /api/v1/cronjobs: list, read (per node: next firing, recent runs) and delete. Applying goes through /api/v1/manifests. */
export function registerCronJobRoutes(router: Router, cronJobs: CronJobService): void {
  router.route(API_ROUTES.listCronJobs, (context) => ({ items: cronJobs.list(selectorOf(context)) }))
  router.route(API_ROUTES.getCronJob, (context) => answer(() => cronJobs.detail(context.params.name ?? '')))
  router.route(API_ROUTES.deleteCronJob, (context) => answer(() => cronJobs.delete(context.params.name ?? '', context.actor)))
}
