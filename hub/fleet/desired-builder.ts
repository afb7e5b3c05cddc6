import { createHash } from 'node:crypto'
import {
  API_VERSION,
  MAX_REVERT_WINDOW_SECONDS,
  allContainerTemplates,
  canonicalJson,
  durationMs,
  type DesiredCronJob,
  nextGeneration,
  type NodeBandwidth,
  type UnsignedDesiredDocument,
  type Workload,
  type WorkloadPrefetch,
  type WorkloadTemplate,
  type WorkloadValues,
} from '../../protocol/index.js'
import type { RevisionPins } from '../config-objects/template-refs.js'
import type { RolloutRecord } from '../rollout/rollout-types.js'
import type { DeploymentRecord, RevisionContent } from '../store/deployment-repository.js'

export interface RevisionPlacement {
  readonly nodeId: string
  readonly workload: string
  readonly deployment: string
  readonly revision: number
}

/** A stored revision's template and pins; null when it is gone. */
export type RevisionLookup = (deployment: string, revision: number) => RevisionContent | null

/**
 * The Configs and Secrets a revision pins, resolved for the copy's node; undefined when it pins
 * none, null when they cannot be given to that node (the copy is left out, and the caller says why).
 */
export type ValuesLookup = (nodeId: string, pins: RevisionPins) => WorkloadValues | undefined | null

/**
 * The workload one copy runs: its assigned revision's template and values and, while a rollout
 * moves it off a stable revision, that revision as the fallback its agent may put back by itself.
 */
export function workloadFor(
  placement: RevisionPlacement,
  deployment: DeploymentRecord,
  rollout: RolloutRecord | null,
  contentOf: RevisionLookup,
  valuesOf: ValuesLookup,
): Workload | null {
  const content = contentOf(deployment.name, placement.revision)
  if (content === null) return null
  const values = valuesOf(placement.nodeId, content.pins)
  if (values === null) return null
  const workload: Workload = {
    name: placement.workload,
    deployment: deployment.name,
    revision: placement.revision,
    template: content.template,
    ...(values ? { values } : {}),
    ...(content.pullNow === true ? { pullNow: true as const } : {}),
  }
  const prefetch = prefetchFor(placement, deployment, rollout, contentOf, valuesOf)
  if (prefetch !== null) return { ...workload, prefetch }
  const stable = rollout?.stableRevision ?? null
  if (rollout === null || rollout.phase !== 'progressing' || stable === null || stable === placement.revision || placement.revision !== rollout.revision)
    return workload
  const fallback = contentOf(deployment.name, stable)
  if (fallback === null) return workload
  const fallbackValues = valuesOf(placement.nodeId, fallback.pins)
  if (fallbackValues === null) return workload
  const revertWindowSeconds = Math.min(MAX_REVERT_WINDOW_SECONDS, Math.max(1, Math.round(durationMs(deployment.manifest.spec.strategy.revertWindow) / 1000)))
  return {
    ...workload,
    fallback: { revision: stable, template: fallback.template, ...(fallbackValues ? { values: fallbackValues } : {}), revertWindowSeconds },
  }
}

/**
 * While a rollout with `prefetch` runs, a copy the rollout has not moved yet gets the new
 * revision's template, so its agent pulls the images ahead of the copy's wave (with only the
 * Secrets its pull credentials name: the rest would be bytes for nothing). Null otherwise.
 */
function prefetchFor(
  placement: RevisionPlacement,
  deployment: DeploymentRecord,
  rollout: RolloutRecord | null,
  contentOf: RevisionLookup,
  valuesOf: ValuesLookup,
): WorkloadPrefetch | null {
  if (deployment.manifest.spec.strategy.prefetch !== true) return null
  if (rollout === null || rollout.phase !== 'progressing' || rollout.stableRevision === null || placement.revision === rollout.revision) return null
  const next = contentOf(deployment.name, rollout.revision)
  if (next === null) return null
  const values = valuesOf(placement.nodeId, next.pins)
  if (values === null) return null
  const secrets = pullSecrets(next.template, values)
  return {
    revision: rollout.revision,
    template: next.template,
    ...(secrets ? { values: { secrets } } : {}),
    ...(next.pullNow === true ? { pullNow: true as const } : {}),
  }
}

function pullSecrets(template: WorkloadTemplate, values: WorkloadValues | undefined): WorkloadValues['secrets'] {
  const names = new Set(allContainerTemplates(template).flatMap((container) => container.pullCredentials?.secret ?? []))
  const kept = Object.entries(values?.secrets ?? {}).filter(([name]) => names.has(name))
  return kept.length === 0 ? undefined : Object.fromEntries(kept)
}

/** Per node, the workloads its placements call for, sorted by name so equal content hashes equal. */
export function workloadsByNode<P extends RevisionPlacement>(placements: readonly P[], build: (placement: P) => Workload | null): Map<string, Workload[]> {
  const result = new Map<string, Workload[]>()
  for (const placement of placements) {
    const workload = build(placement)
    if (!workload) continue
    const list = result.get(placement.nodeId) ?? []
    list.push(workload)
    result.set(placement.nodeId, list)
  }
  for (const list of result.values()) list.sort((a, b) => a.name.localeCompare(b.name))
  return result
}

/**
 * What a node runs, as a digest. A sealed Secret counts by its version and overrides, not its
 * bytes: sealing is randomized, and the same value sealed again (after a hub restart) is no change.
 * A node's bandwidth rules count when it has some, and its cron jobs when it has some; without
 * either, the digest is the workloads' alone, as before they existed (so no node gets a new
 * document for nothing).
 */
export function contentHash(workloads: readonly Workload[], bandwidth?: NodeBandwidth, cronJobs: readonly DesiredCronJob[] = []): string {
  const hashable = workloads.some((w) => w.values?.secrets || w.fallback?.values?.secrets || w.prefetch?.values?.secrets)
    ? workloads.map(withoutCiphertext)
    : workloads
  const content =
    cronJobs.length > 0
      ? { workloads: hashable, ...(bandwidth !== undefined ? { bandwidth } : {}), cronJobs }
      : bandwidth === undefined
        ? hashable
        : { workloads: hashable, bandwidth }
  return createHash('sha256').update(canonicalJson(content)).digest('hex')
}

function withoutCiphertext(workload: Workload): unknown {
  const strip = (values: WorkloadValues | undefined) =>
    values?.secrets
      ? { ...values, secrets: Object.fromEntries(Object.entries(values.secrets).map(([name, s]) => [name, { version: s.version, overrides: s.overrides }])) }
      : values
  return {
    ...workload,
    values: strip(workload.values),
    ...(workload.fallback ? { fallback: { ...workload.fallback, values: strip(workload.fallback.values) } } : {}),
    ...(workload.prefetch ? { prefetch: { ...workload.prefetch, values: strip(workload.prefetch.values) } } : {}),
  }
}

/**
 * The next document for a node, or null when its content is unchanged: the generation moves
 * only when what the node must run moves, so agents are not woken for nothing.
 */
export function nextDocument(
  nodeId: string,
  workloads: readonly Workload[],
  current: { generation: number; contentHash: string } | null,
  issuedAt: string,
  bandwidth?: NodeBandwidth,
  cronJobs: readonly DesiredCronJob[] = [],
): { document: UnsignedDesiredDocument; contentHash: string } | null {
  const hash = contentHash(workloads, bandwidth, cronJobs)
  if (current && current.contentHash === hash) return null
  return {
    document: {
      apiVersion: API_VERSION,
      kind: 'NodeDesiredState',
      nodeId,
      generation: nextGeneration(current?.generation),
      issuedAt,
      workloads: [...workloads],
      ...(bandwidth !== undefined ? { bandwidth } : {}),
      ...(cronJobs.length > 0 ? { cronJobs: [...cronJobs] } : {}),
    },
    contentHash: hash,
  }
}
