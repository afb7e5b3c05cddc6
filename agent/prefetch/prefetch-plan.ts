import type { PrefetchStatus, Workload } from '../../protocol/index.js'
import { type PullDeferral, deferralKey, deferralMessage } from '../bandwidth/pull-gate.js'
import { normaliseImageRef } from '../image-gc.js'
import { copyMembers } from '../reconcile/copy-members.js'
import type { ContainerWorkload } from '../runtime/runtime.js'

/** One image a copy's next revision needs, with the container it belongs to (for its pull credentials). */
export interface PrefetchImage {
  readonly image: string
  readonly member: ContainerWorkload
  /** That revision was applied with --pull-now: the bandwidth rules do not hold it back. */
  readonly pullNow: boolean
}

/** A copy whose document asks for its next revision's images ahead of the rollout's move. */
export interface PrefetchTarget {
  readonly copy: string
  readonly revision: number
  readonly images: readonly PrefetchImage[]
}

/** The last failed pull of an image: retried with backoff, on the steady clock. */
export interface PrefetchFailure {
  readonly failures: number
  readonly retryAt: number
  readonly error: string
}

/** What the node is doing about each image right now. */
export interface PrefetchProgress {
  readonly present: ReadonlySet<string>
  readonly pulling: string | null
  readonly deferred: ReadonlyMap<string, PullDeferral>
  readonly failed: ReadonlyMap<string, PrefetchFailure>
}

/** The copies whose workloads carry `prefetch`, each with its next revision's images (a pod's every container). Pure. */
export function prefetchTargets(workloads: readonly Workload[], nodeId: string): PrefetchTarget[] {
  const targets: PrefetchTarget[] = []
  for (const workload of workloads) {
    const next = workload.prefetch
    if (next === undefined) continue
    const { prefetch: _prefetch, fallback: _fallback, pullNow: _pullNow, values: _values, ...copy } = workload
    const members = copyMembers({ ...copy, revision: next.revision, template: next.template, ...(next.values ? { values: next.values } : {}) }, nodeId)
    targets.push({
      copy: workload.name,
      revision: next.revision,
      images: members.map((member) => ({ image: member.workload.template.image, member: member.workload, pullNow: next.pullNow === true })),
    })
  }
  return targets
}

/** Whether the engine has the image, by the name the template gives or with Docker's implicit `:latest`. */
export function imagePresent(image: string, present: ReadonlySet<string>): boolean {
  return present.has(image) || present.has(normaliseImageRef(image))
}

/**
 * The next image to pull ahead: the first missing one, in copy order, whose failed pull is not
 * backing off and that the bandwidth rules let go (`deferredBy` answers for them). Null when none.
 */
export function nextPrefetch(
  targets: readonly PrefetchTarget[],
  present: ReadonlySet<string>,
  failed: ReadonlyMap<string, PrefetchFailure>,
  now: number,
  deferredBy: (image: PrefetchImage) => PullDeferral | null,
): { readonly next: PrefetchImage | null; readonly deferred: ReadonlyMap<string, PullDeferral> } {
  const deferred = new Map<string, PullDeferral>()
  for (const target of targets) {
    for (const image of target.images) {
      if (imagePresent(image.image, present) || deferred.has(image.image)) continue
      if ((failed.get(image.image)?.retryAt ?? 0) > now) continue
      const deferral = deferredBy(image)
      if (deferral === null) return { next: image, deferred }
      deferred.set(image.image, deferral)
    }
  }
  return { next: null, deferred }
}

/** A copy's pull-ahead for its status, and what makes a change of it news (a deferral's bytes used move all the time; they are not). */
export interface ReportedPrefetch {
  readonly status: PrefetchStatus
  readonly news: string
}

/**
 * What each copy's status says of its pull-ahead: `present` once every image is on the node;
 * else the first missing image's story (pulling, deferred by the rules, failed and retried with
 * backoff); a missing image not yet reached is `pulling` (queued). Pure.
 */
export function prefetchStatuses(targets: readonly PrefetchTarget[], progress: PrefetchProgress, now: number): Map<string, ReportedPrefetch> {
  const statuses = new Map<string, ReportedPrefetch>()
  for (const target of targets) {
    const missing = target.images.filter((image) => !imagePresent(image.image, progress.present))
    const first = missing.find((image) => image.image === progress.pulling) ?? missing[0]
    const status: PrefetchStatus = first === undefined ? { revision: target.revision, state: 'present' } : statusOf(target.revision, first.image, progress, now)
    const deferral = first === undefined ? undefined : progress.deferred.get(first.image)
    const news =
      status.state === 'pull-deferred' && deferral
        ? `${status.revision}|deferred|${deferralKey(deferral)}`
        : `${status.revision}|${status.state}|${status.message ?? ''}`
    statuses.set(target.copy, { status, news })
  }
  return statuses
}

function statusOf(revision: number, image: string, progress: PrefetchProgress, now: number): PrefetchStatus {
  const deferral = progress.deferred.get(image)
  if (image !== progress.pulling && deferral !== undefined) return { revision, state: 'pull-deferred', message: deferralMessage(deferral).slice(0, 500) }
  const failure = progress.failed.get(image)
  // No countdown in the text: a status must not change while nothing happens.
  if (image !== progress.pulling && failure !== undefined && failure.retryAt > now)
    return {
      revision,
      state: 'failed',
      message: `pull of ${image} failed (attempt ${failure.failures}): ${failure.error}; retrying with backoff`.slice(0, 500),
    }
  return { revision, state: 'pulling', message: image === progress.pulling ? `pulling ${image}` : `${image} queued` }
}
