import { z } from 'zod'
import { Duration, LabelKey } from './primitives.js'
import { durationMs } from './quantity.js'
import { LabelSelector } from './selector.js'

/** A number of copies, or a share of them: `2` or `"25%"`. */
export const CountOrPercent = z.union([
  z.number().int().min(0).max(10_000),
  z.string().regex(/^(100|[1-9]?[0-9])%$/, 'must be a whole number of copies (2) or a percentage from 0% to 100% ("25%")'),
])
export type CountOrPercent = z.infer<typeof CountOrPercent>

/** How long a canary step holds once its copies are updated: a duration, or until `shoal rollout promote`. */
export const StepPause = z.union([Duration, z.literal('manual')])

/**
 * One canary step: how far the new revision reaches (cumulative: `percent: 50` means half of
 * all copies by the end of this step), then an optional pause before the next step.
 */
export const CanaryStep = z
  .strictObject({
    count: z.number().int().min(1).max(10_000).optional().describe('copies on the new revision by the end of this step'),
    percent: z.number().int().min(1).max(100).optional().describe('share of copies on the new revision by the end of this step'),
    selector: LabelSelector.optional().describe('copies on nodes whose labels match (e.g. ring=canary), plus those of earlier steps'),
    pause: StepPause.optional(),
  })
  .superRefine((step, ctx) => {
    const given = (['count', 'percent', 'selector'] as const).filter((key) => step[key] !== undefined)
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `a step takes exactly one of count, percent or selector (got ${given.length === 0 ? 'none' : given.join(' and ')})`,
      })
    }
  })
export type CanaryStep = z.infer<typeof CanaryStep>

export const RollbackPolicy = z.strictObject({
  auto: z.boolean().default(true).describe('return every updated copy to the last fully available revision when the rollout fails'),
  failureThreshold: CountOrPercent.default(1).describe('updated copies failing the health gate (count, or percent of the updated ones) that fail the rollout'),
})
export type RollbackPolicy = z.infer<typeof RollbackPolicy>

/**
 * How a new revision replaces the old one. Copies are replaced in place (a node holds one copy of a
 * deployment), so a copy being replaced is unavailable until it passes the health gate again.
 */
export const RolloutStrategy = z
  .strictObject({
    type: z.enum(['rolling', 'canary']).default('rolling'),
    maxUnavailable: CountOrPercent.default('25%').describe('copies that may be down for the rollout at once (percent rounds down; never below 1)'),
    maxSurge: CountOrPercent.optional().describe(
      'replicated only: extra copies of the new revision on other nodes while old ones are replaced (percent rounds up)',
    ),
    // Not 0 as in Kubernetes: a container that exits at once looks running for an instant, and
    // without a settle time that instant would let the next wave start.
    minReadySeconds: z.number().int().min(0).max(86_400).default(5).describe('a new copy must stay running and healthy this long to count as updated'),
    progressDeadline: Duration.default('10m').describe('the rollout fails when no copy becomes updated for this long'),
    partitionBy: LabelKey.optional().describe('update one value of this node label at a time (a site, a line); maxUnavailable applies per value'),
    steps: z.array(CanaryStep).min(1).max(20).optional().describe('canary only: the steps in order; after the last, the rest rolls as with rolling'),
    prefetch: z
      .boolean()
      .optional()
      .describe("pull the new revision's images on every copy's node ahead of its wave; a copy moves only once its node has them"),
    rollback: RollbackPolicy.prefault({}),
    revertWindow: Duration.default('10m').describe('an agent that cannot reach the hub reverts a copy failing its gate this long after it started'),
  })
  .superRefine((strategy, ctx) => {
    if (durationMs(strategy.revertWindow) > 7 * 24 * 3600 * 1000) {
      ctx.addIssue({ code: 'custom', path: ['revertWindow'], message: 'revertWindow is at most 7d' })
    }
    if (strategy.type === 'canary' && strategy.steps === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: 'a canary strategy needs steps (for example [{ selector: { matchLabels: { ring: canary } }, pause: manual }])',
      })
    }
    if (strategy.type === 'rolling' && strategy.steps !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'steps belong to type: canary; a rolling update has none' })
    }
  })
export type RolloutStrategy = z.infer<typeof RolloutStrategy>

/** Resolves a count or percentage against a total; percentages round down unless `roundUp`. */
export function resolveCountOrPercent(value: CountOrPercent, total: number, roundUp = false): number {
  if (typeof value === 'number') return value
  const share = (Number(value.slice(0, -1)) * total) / 100
  return roundUp ? Math.ceil(share) : Math.floor(share)
}
