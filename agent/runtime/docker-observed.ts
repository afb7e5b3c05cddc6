import type { HealthState } from '../../protocol/index.js'
import { parseVersionLabel } from './docker-container-config.js'
import type { ContainerInspect } from './docker-engine-client.js'
import { LABEL, type ContainerRunState, type ObservedContainer } from './runtime.js'

const RUN_STATES: ReadonlySet<string> = new Set<ContainerRunState>(['created', 'running', 'restarting', 'paused', 'exited', 'dead', 'removing'])
const HEALTH_STATES: ReadonlySet<string> = new Set<HealthState>(['none', 'starting', 'healthy', 'unhealthy'])
/** Docker's zero time: the container never started (or never finished). */
const ZERO_TIME = '0001-01-01T00:00:00Z'

/** What the reconciler needs from `GET /containers/{id}/json`. Pure. */
export function observedFromInspect(info: ContainerInspect): ObservedContainer {
  const labels = info.Config?.Labels ?? {}
  const state = RUN_STATES.has(info.State.Status) ? (info.State.Status as ContainerRunState) : 'dead'
  const revision = Number.parseInt(labels[LABEL.revision] ?? '', 10)
  const health = info.State.Health?.Status
  const configVersions = parseVersionLabel(labels[LABEL.configVersions])
  const secretVersions = parseVersionLabel(labels[LABEL.secretVersions])
  const address = Object.values(info.NetworkSettings?.Networks ?? {}).find((network) => network.IPAddress)?.IPAddress
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    workload: labels[LABEL.workload] ?? '',
    deployment: labels[LABEL.deployment] ?? '',
    revision: Number.isNaN(revision) ? 0 : revision,
    configHash: labels[LABEL.configHash] ?? '',
    state,
    // An exit code means something only once the process has ended at least once.
    exitCode: state === 'exited' || state === 'dead' || state === 'restarting' ? info.State.ExitCode : null,
    health: health !== undefined && HEALTH_STATES.has(health) ? (health as HealthState) : 'none',
    restartCount: info.RestartCount ?? 0,
    startedAt: dockerTime(info.State.StartedAt),
    finishedAt: dockerTime(info.State.FinishedAt),
    ...(configVersions ? { configVersions } : {}),
    ...(secretVersions ? { secretVersions } : {}),
    ...(address ? { address } : {}),
  }
}

function dockerTime(value: string | undefined): string | null {
  return value === undefined || value === '' || value === ZERO_TIME ? null : value
}
