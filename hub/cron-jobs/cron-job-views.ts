import type { ZoneClocks } from '../../protocol/cron/time-zone.js'
import type { CronJobDetail, CronJobNodeView, CronJobView } from '../../protocol/api/index.js'
import type { CronJobRecord, CronNodeHistory } from '../store/cron-job-repository.js'
import { nextFireOnNode } from './cron-next-fire.js'

/** What the views need of a node. */
export interface CronViewNode {
  readonly id: string
  readonly online: boolean
  /** The zone it reported at enrollment; null when it did not. */
  readonly timeZone: string | null
}

/** A cron job as listed: its schedule, how many nodes carry it, the latest run any reported. Pure. */
export function cronJobView(job: CronJobRecord, placed: readonly string[], history: ReadonlyMap<string, CronNodeHistory>): CronJobView {
  const { spec, metadata } = job.manifest
  const latest = [...history]
    .flatMap(([nodeId, node]) => node.runs.map((run) => ({ nodeId, run })))
    .sort((a, b) => (a.run.finishedAt < b.run.finishedAt ? 1 : a.run.finishedAt > b.run.finishedAt ? -1 : 0))[0]
  return {
    name: job.name,
    labels: metadata.labels ?? {},
    revision: job.revision,
    schedule: spec.schedule,
    timeZone: spec.timeZone,
    suspend: spec.suspend,
    concurrencyPolicy: spec.concurrencyPolicy,
    nodes: placed.length,
    lastRun: latest ? { nodeId: latest.nodeId, scheduledAt: latest.run.scheduledAt, outcome: latest.run.outcome, exitCode: latest.run.exitCode } : null,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  }
}

/**
 * A cron job with, per node that carries it or reported on it (by id), its next firing by the
 * schedule in the node's zone and its recent runs, skips and misses. Pure but for the zone clocks.
 */
export function cronJobDetail(
  job: CronJobRecord,
  placed: readonly string[],
  history: ReadonlyMap<string, CronNodeHistory>,
  nodes: ReadonlyMap<string, CronViewNode>,
  now: number,
  zones: ZoneClocks,
): CronJobDetail {
  const carried = new Set(placed)
  const ids = [...new Set([...placed, ...history.keys()])].sort()
  const perNode = ids.map((nodeId): CronJobNodeView => {
    const node = nodes.get(nodeId)
    const reported = history.get(nodeId)
    const next = nextFireOnNode(job.manifest.spec, node?.timeZone ?? null, now, zones)
    return {
      nodeId,
      placed: carried.has(nodeId),
      online: node?.online ?? false,
      zone: next.zone,
      nextFireAt: carried.has(nodeId) ? next.nextFireAt : null,
      skipped: reported?.skipped ?? 0,
      missed: reported?.missed ?? 0,
      runs: (reported?.runs ?? []).map(({ nodeId: _node, ...run }) => run),
      lapses: (reported?.lapses ?? []).map(({ nodeId: _node, ...lapse }) => lapse),
    }
  })
  return { ...cronJobView(job, placed, history), manifest: job.manifest, perNode }
}
