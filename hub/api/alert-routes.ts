import { API_ROUTES } from '../../protocol/api/index.js'
import type { AlertMonitor } from '../alerts/alert-monitor.js'
import { badRequest } from './http-errors.js'
import { queryOf } from './request.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'

/** /api/v1/alerts: list, and acknowledge one (AlertMonitor). */
export function registerAlertRoutes(router: Router, alerts: Pick<AlertMonitor, 'list' | 'acknowledge'>): void {
  router.route(API_ROUTES.listAlerts, (context) => alerts.list({ all: queryOf(context, API_ROUTES.listAlerts.query).all === 'true' }))
  router.route(API_ROUTES.acknowledgeAlert, (context) => {
    const text = context.params.id ?? ''
    const id = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id < 1) throw badRequest(`alert id must be a whole number ≥ 1, got ${JSON.stringify(text)}`)
    return answer(() => alerts.acknowledge(id, context.actor))
  })
}
