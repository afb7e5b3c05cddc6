import { API_ROUTES } from '../../protocol/api/index.js'
import type { RolloutService } from '../rollout/rollout-service.js'
import { jsonBody } from './request.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'

/** /api/v1/deployments/:name/rollout and /revisions: read a rollout, pause, resume, promote, undo, restart. */
export function registerRolloutRoutes(router: Router, rollouts: RolloutService): void {
  router.route(API_ROUTES.rolloutStatus, (context) => answer(() => rollouts.status(context.params.name ?? '')))
  router.route(API_ROUTES.revisions, (context) => answer(() => rollouts.history(context.params.name ?? '')))
  const actions = [
    ['pause', API_ROUTES.pauseRollout],
    ['resume', API_ROUTES.resumeRollout],
    ['promote', API_ROUTES.promoteRollout],
  ] as const
  for (const [action, route] of actions) {
    router.route(route, (context) =>
      answer(async () => {
        const name = context.params.name ?? ''
        await rollouts.act(name, action, context.actor)
        return rollouts.status(name)
      }),
    )
  }
  router.route(API_ROUTES.undoRollout, async (context) => {
    const request = await jsonBody(context, API_ROUTES.undoRollout.body.schema, 'undo request')
    return answer(async () => {
      const name = context.params.name ?? ''
      const done = await rollouts.undo(name, request.toRevision ?? null, context.actor)
      return { ...done, rollout: rollouts.status(name) }
    })
  })
  router.route(API_ROUTES.restartRollout, (context) =>
    answer(async () => {
      const name = context.params.name ?? ''
      const done = await rollouts.restart(name, context.actor)
      return { ...done, rollout: rollouts.status(name) }
    }),
  )
}
