import type { Step } from '../reconcile/plan.js'
import type { DeferCause, PullVerdict } from './pull-decision.js'

/** A pull the node's bandwidth rules hold back, and until when (wall time, epoch ms; null: no time helps). */
export interface PullDeferral {
  readonly image: string
  readonly causes: readonly DeferCause[]
  readonly reason: string
  readonly nextAttemptAt: number | null
}

export interface GatedSteps {
  readonly steps: Step[]
  readonly deferred: ReadonlyMap<string, PullDeferral>
  /** Pulls that go ahead only because their revision was applied with --pull-now. */
  readonly overridden: readonly string[]
}

/**
 * Asks, for each planned pull, whether it may start now. A deferred pull drops its workload's
 * later steps (nothing can be created without the image): a container already running keeps
 * running. With no rules, nothing is asked. Pure: `decide` is the question put to the rules.
 */
export function gatePulls(steps: readonly Step[], decide: (step: Extract<Step, { kind: 'pull' }>) => PullVerdict): GatedSteps {
  const deferred = new Map<string, PullDeferral>()
  const overridden: string[] = []
  const kept: Step[] = []
  for (const step of steps) {
    if (deferred.has(step.workload)) continue
    if (step.kind === 'pull') {
      const verdict = decide(step)
      if (!verdict.allow) {
        deferred.set(step.workload, { image: step.image, causes: verdict.causes, reason: verdict.reason, nextAttemptAt: verdict.nextAttemptAt })
        continue
      }
      if (verdict.overridden) overridden.push(step.workload)
    }
    kept.push(step)
  }
  return { steps: kept, deferred, overridden }
}

/** What makes a deferral news: its image, causes and next attempt (not the bytes used, which move all the time). */
export function deferralKey(deferral: PullDeferral): string {
  return `${deferral.image}|${deferral.causes.join(',')}|${deferral.nextAttemptAt ?? 'none'}`
}

/** What the workload's status says while its pull waits. */
export function deferralMessage(deferral: PullDeferral): string {
  const next =
    deferral.nextAttemptAt === null
      ? 'next attempt when the rules change (or apply with --pull-now)'
      : `next attempt at ${new Date(deferral.nextAttemptAt).toISOString()}`
  return `pull of ${deferral.image} deferred: ${deferral.reason}; ${next}`
}

/**
 * What pulling an image will likely cost: the size of an image of the same repository already on
 * the node (an earlier version), else unknown. Sizes are unpacked, so this errs high. Pure.
 */
export function expectedPullBytes(image: string, present: ReadonlyArray<{ readonly tags: readonly string[]; readonly sizeBytes: number }>): number | null {
  const repository = repositoryOf(image)
  let best: number | null = null
  for (const candidate of present) {
    if (candidate.tags.some((tag) => repositoryOf(tag) === repository)) best = Math.max(best ?? 0, candidate.sizeBytes)
  }
  return best
}

/** registry:5000/team/app:1.2@sha256:... → registry:5000/team/app. */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image
  const lastSlash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.lastIndexOf(':')
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest
}
