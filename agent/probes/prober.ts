import type { Logger } from 'pino'
import type { ContainerRuntime } from '../runtime/runtime.js'
import { probeKey, type ProbeRole, type ProbeSpec } from './probe-plan.js'
import { runProbe } from './probe-runner.js'
import { afterProbe, FIRST_PROBE_STATE, type ProbeState } from './probe-state.js'

/** One running container's probes, as the reconciler hands them over after each pass. */
export interface ProbeTarget {
  readonly workload: string
  readonly containerId: string
  /** The engine's start time of the container: a restart (same id, new start) starts its probes over. */
  readonly startedAt: string | null
  readonly probes: readonly ProbeSpec[]
}

interface RunningProbe {
  readonly target: ProbeTarget
  readonly spec: ProbeSpec
  /** When the agent first saw the container running: its start period counts from here. */
  readonly since: number
  state: ProbeState
  timer: NodeJS.Timeout | null
  inFlight: boolean
}

export interface ProberOptions {
  readonly runtime: ContainerRuntime
  readonly logger: Logger
  /** Steady milliseconds (start periods are measured on it). */
  readonly now: () => number
  /** A probe's status changed: the reconciler reports it. */
  readonly onChange: () => void
}

/**
 * Runs the checks the agent performs itself (see probe-plan.ts): each container's probes on
 * their own interval, the first at once, never two of one probe at a time. Its states live in
 * memory only: after an agent restart every check starts over at `starting`, as after a
 * container restart.
 */
export class Prober {
  private readonly logger: Logger
  private readonly probes = new Map<string, RunningProbe>()
  private stopped = false

  constructor(private readonly options: ProberOptions) {
    this.logger = options.logger.child({ component: 'prober' })
  }

  /** Starts the probes of new targets and stops those of containers no longer listed. */
  sync(targets: readonly ProbeTarget[]): void {
    if (this.stopped) return
    const wanted = new Map<string, { target: ProbeTarget; spec: ProbeSpec }>()
    for (const target of targets)
      for (const spec of target.probes) wanted.set(`${probeKey(target.containerId, spec)}@${target.startedAt ?? ''}`, { target, spec })
    for (const [key, probe] of this.probes) {
      if (wanted.has(key)) continue
      if (probe.timer) clearTimeout(probe.timer)
      this.probes.delete(key)
    }
    for (const [key, { target, spec }] of wanted) {
      if (this.probes.has(key)) continue
      const probe: RunningProbe = { target, spec, since: this.options.now(), state: FIRST_PROBE_STATE, timer: null, inFlight: false }
      this.probes.set(key, probe)
      this.schedule(key, probe, 0)
    }
  }

  /** The container's status for `role`, or undefined when the agent runs no such probe for it. */
  status(containerId: string, role: ProbeRole): ProbeState | undefined {
    for (const probe of this.probes.values()) if (probe.target.containerId === containerId && probe.spec.role === role) return probe.state
    return undefined
  }

  stop(): void {
    this.stopped = true
    for (const probe of this.probes.values()) if (probe.timer) clearTimeout(probe.timer)
    this.probes.clear()
  }

  private schedule(key: string, probe: RunningProbe, delayMs: number): void {
    probe.timer = setTimeout(() => void this.run(key, probe), delayMs)
    probe.timer.unref()
  }

  private async run(key: string, probe: RunningProbe): Promise<void> {
    probe.timer = null
    if (probe.inFlight) return
    probe.inFlight = true
    const outcome = await runProbe(probe.spec.action, probe.spec.timeoutMs, this.options.runtime, probe.target.containerId)
    probe.inFlight = false
    // Dropped by a sync while it ran (its container went away): its result means nothing now.
    if (this.stopped || this.probes.get(key) !== probe) return
    const next = afterProbe(probe.state, outcome, probe.spec.check, this.options.now() - probe.since)
    const changed = next.status !== probe.state.status
    probe.state = next
    this.schedule(key, probe, probe.spec.intervalMs)
    if (changed) {
      this.logger.info(
        {
          workload: probe.target.workload,
          containerId: probe.target.containerId.slice(0, 12),
          probe: probe.spec.role,
          status: next.status,
          reason: next.lastError,
        },
        'probe status changed',
      )
      this.options.onChange()
    }
  }
}
