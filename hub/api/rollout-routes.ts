import type { z } from 'zod'
import { API_ROUTES } from '../../protocol/api/index.js'
import { RolloutActionError } from '../rollout/rollout-actions.js'
import { DeploymentNotFoundError, type RolloutService } from '../rollout/rollout-service.js'
import { ApiError, notFound } from './http-errors.js'
import type { RequestContext, Router } from './router.js'

/** Maps the service's typed errors onto HTTP answers. */
async function answer<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof DeploymentNotFoundError) throw notFound(`deployment ${error.deployment}`)
    if (error instanceof RolloutActionError) throw new ApiError(409, 'rollout-conflict', error.message)
    throw error
  }
}

/** /api/v1/deployments/:name/rollout and /revisions: read a rollout, pause, resume, promote, undo, restart. */
export function registerRolloutRoutes(router: Router, rollouts: RolloutService, jsonBody: <S extends z.ZodType>(context: RequestContext, schema: S, what: string) => Promise<z.infer<S>>): void {
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
