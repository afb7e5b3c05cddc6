import type { DeploymentOutcome } from '../scheduler/types.js'
import type { DeploymentRecord, PlacementRecord } from '../store/deployment-repository.js'
import type { WorkloadStatusRecord } from '../store/status-repository.js'

/**
 * Copies that are ready: running, not unhealthy and not reported unready, at the revision
 * `revisionOf` says for their placement (the one its rollout assigned, since a canary holds old
 * copies back on purpose; or the deployment's current one, for "up to date"). Pure; the API's
 * views and the alert rules count the same way.
 */
export function readyCopies(
  deployment: Pick<DeploymentRecord, 'revision'>,
  statuses: readonly WorkloadStatusRecord[],
  placements: readonly PlacementRecord[],
  revisionOf: (placement: PlacementRecord) => number | null,
): number {
  return statuses.filter(
    (s) =>
      s.state === 'running' &&
      s.health !== 'unhealthy' &&
      s.ready !== false &&
      placements.some((p) => p.nodeId === s.nodeId && p.workload === s.name && (revisionOf(p) ?? deployment.revision) === s.revision),
  ).length
}

/** How many copies the deployment should have: the scheduler's figure, else its spec's (every-node: what is placed). Pure. */
export function desiredCopies(deployment: Pick<DeploymentRecord, 'manifest'>, outcome: DeploymentOutcome | null, placed: number): number {
  return outcome?.desired ?? (deployment.manifest.spec.mode === 'every-node' ? placed : (deployment.manifest.spec.replicas ?? 1))
}
