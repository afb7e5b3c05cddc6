import type { Logger } from 'pino'
import { steadyClock, type Clock } from '../../common/clock.js'
import type { PrefetchStatus, Workload } from '../../protocol/index.js'
import { hasPullRules } from '../bandwidth/bandwidth-rules.js'
import type { NodeBandwidthView } from '../bandwidth/node-bandwidth.js'
import { PullByteTally } from '../bandwidth/pull-bytes.js'
import { decidePull } from '../bandwidth/pull-decision.js'
import { expectedPullBytes, type PullDeferral } from '../bandwidth/pull-gate.js'
import { pullBackoffMs } from '../reconcile/crash-policy.js'
import type { ContainerRuntime, ImageInfo } from '../runtime/runtime.js'
import type { WorkloadValuesSource } from '../values/node-values.js'
import {
  nextPrefetch,
  type PrefetchFailure,
  type PrefetchImage,
  type PrefetchTarget,
  type ReportedPrefetch,
  prefetchStatuses,
  prefetchTargets,
} from './prefetch-plan.js'

export interface PrefetcherOptions {
  readonly nodeId: string
  readonly runtime: Pick<ContainerRuntime, 'listImages' | 'pull'>
  readonly values: WorkloadValuesSource
  /** The node's bandwidth rules and meter: a pull-ahead waits for them like any pull, and counts as `images`. */
  readonly bandwidth?: NodeBandwidthView
  readonly clock: Clock
  readonly logger: Logger
  /** Called when a copy's pull-ahead changes state, so the next status reports it. */
  readonly changed: () => void
}

/** The longest the loop sleeps before it asks the rules (or a backed-off pull) again. */
const MAX_WAKE_MS = 3_600_000

/**
 * Pulls the images of the revision a rollout will move each copy to (the document's `prefetch`),
 * one at a time so the node's own pulls keep their share of the link, within the node's bandwidth
 * rules, and says per copy how far it got. The decisions are prefetch-plan.ts; this is their I/O.
 */
export class Prefetcher {
  private readonly logger: Logger
  private readonly steady: () => number
  private targets: PrefetchTarget[] = []
  private readonly failed = new Map<string, PrefetchFailure>()
  private statuses = new Map<string, ReportedPrefetch>()
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly options: PrefetcherOptions) {
    this.logger = options.logger.child({ component: 'prefetch' })
    this.steady = steadyClock(options.clock)
  }

  /** Takes the copies' current documents; pulls what their next revisions lack. Cheap when nothing asks for prefetch. */
  sync(workloads: readonly Workload[]): void {
    this.targets = prefetchTargets(workloads, this.options.nodeId)
    const wanted = new Set(this.targets.flatMap((t) => t.images.map((i) => i.image)))
    for (const image of this.failed.keys()) if (!wanted.has(image)) this.failed.delete(image)
    if (this.targets.length === 0) {
      this.publish(new Map())
      return
    }
    this.kick()
  }

  /** The copy's pull-ahead as its status reports it; undefined when its document asks for none. */
  status(copy: string): PrefetchStatus | undefined {
    return this.statuses.get(copy)?.status
  }

  /** Every copy's pull-ahead in one comparable string: a change is news for the next status. */
  key(): string {
    return [...this.statuses].map(([copy, reported]) => `${copy}=${reported.news}`).join('\n')
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }

  private kick(): void {
    if (this.stopped) return
    if (this.running !== null) {
      this.again = true
      return
    }
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.running = this.loop().finally(() => {
      this.running = null
      if (this.again) {
        this.again = false
        this.kick()
      }
    })
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let images: ImageInfo[]
      try {
        images = await this.options.runtime.listImages()
      } catch (error) {
        this.logger.warn({ err: error }, 'cannot list images for the pull-ahead; trying again in 30 s')
        this.wakeIn(30_000)
        return
      }
      const present = new Set(images.flatMap((image) => image.tags))
      const targets = this.targets
      const { next, deferred } = nextPrefetch(targets, present, this.failed, this.steady(), this.deferral(images))
      this.publish(prefetchStatuses(targets, { present, pulling: next?.image ?? null, deferred, failed: this.failed }, this.steady()))
      if (next === null) {
        this.sleepUntilSomethingChanges(deferred)
        return
      }
      await this.pull(next)
    }
  }

  /** The bandwidth rules' verdict on one image, as a deferral (null: it may go now). */
  private deferral(images: readonly ImageInfo[]): (image: PrefetchImage) => PullDeferral | null {
    const bandwidth = this.options.bandwidth
    const rules = bandwidth?.rules()
    if (!bandwidth || !rules || !hasPullRules(rules)) return () => null
    const now = this.options.clock.now()
    return (image) => {
      const verdict = decidePull({
        now,
        zone: bandwidth.zone,
        rules,
        usedBytes: bandwidth.meter.total(),
        expectedBytes: expectedPullBytes(image.image, images),
        override: image.pullNow,
      })
      return verdict.allow ? null : { image: image.image, causes: verdict.causes, reason: verdict.reason, nextAttemptAt: verdict.nextAttemptAt }
    }
  }

  private async pull(image: PrefetchImage): Promise<void> {
    const tally = new PullByteTally()
    this.logger.info({ image: image.image, workload: image.member.name }, 'pulling ahead of the rollout')
    try {
      await this.options.runtime.pull(image.image, this.options.values.pullCredentials(image.member), (progress) => tally.add(progress))
      this.failed.delete(image.image)
      this.logger.info({ image: image.image, bytes: tally.bytes }, 'pulled ahead of the rollout')
    } catch (error) {
      const failures = (this.failed.get(image.image)?.failures ?? 0) + 1
      const message = (error as Error).message
      this.failed.set(image.image, { failures, retryAt: this.steady() + pullBackoffMs(failures), error: message.slice(0, 300) })
      this.logger.warn({ image: image.image, failures, err: error }, 'pull ahead of the rollout failed; retrying with backoff')
    } finally {
      // Spent whether it succeeded or not, and saved at once: pulls are the big spenders.
      this.options.bandwidth?.meter.add('images', tally.bytes, true)
    }
  }

  /** Wakes for the earliest retry of a failed pull or the next time the rules may allow a deferred one. */
  private sleepUntilSomethingChanges(deferred: ReadonlyMap<string, PullDeferral>): void {
    const now = this.steady()
    const wallNow = this.options.clock.now()
    const waits = [
      ...[...this.failed.values()].map((f) => f.retryAt - now),
      ...[...deferred.values()].flatMap((d) => (d.nextAttemptAt === null ? [] : [d.nextAttemptAt - wallNow])),
    ]
    if (waits.length > 0) this.wakeIn(Math.max(0, Math.min(...waits)))
  }

  private wakeIn(ms: number): void {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.kick(), Math.min(MAX_WAKE_MS, ms) + 10)
    this.timer.unref()
  }

  private publish(statuses: Map<string, ReportedPrefetch>): void {
    const before = this.key()
    this.statuses = statuses
    // Never from inside the caller's stack: sync() runs within a reconcile pass, which must not be
    // asked for another while it is still starting.
    if (this.key() !== before) setImmediate(() => this.options.changed())
  }
}
