import type { Logger } from 'pino'
import type { ContainerLogLimits, ContainerRuntime, ContainerWorkload, PullProgress } from '../runtime/runtime.js'
import { NO_VALUES, type WorkloadValuesSource } from '../values/node-values.js'
import type { Step } from './plan.js'
import { DEFAULT_STEP_LIMITS, readySteps, type StepLimits, type StepState, stepDependencies } from './step-concurrency.js'

/** What happened to a workload while its steps ran: enough to record and report it. */
export interface StepOutcome {
  readonly workload: string
  readonly step: Step['kind']
  readonly ok: boolean
  readonly error?: string
  readonly containerId?: string
}

export interface ExecutorContext {
  readonly nodeId: string
  readonly runtime: ContainerRuntime
  readonly logger: Logger
  readonly extraLabels: Readonly<Record<string, string>>
  /** Containers the agent is stopping on purpose, so their `die` is not counted as a crash. */
  readonly stopping: Set<string>
  /** Configs and Secrets: files written and env resolved just before a container is created or started. */
  readonly values?: WorkloadValuesSource
  /** The node's container log bound for templates that set none. */
  readonly logDefaults?: ContainerLogLimits
  readonly onPullProgress?: (workload: string, progress: PullProgress) => void
  readonly onPullStart?: (workload: string, image: string) => void
  /** How many steps (and pulls among them) run at once; absent: DEFAULT_STEP_LIMITS. */
  readonly limits?: StepLimits
}

export function containerName(nodeId: string, workload: string): string {
  return `shoal-${nodeId}-${workload}`
}

/**
 * Applies steps, independent ones side by side within `context.limits` (step-concurrency.ts says which
 * may run together). A failed step skips the rest of its workload's steps (there is no point
 * starting what could not be created) but never the other workloads'. Outcomes come back in
 * the plan's order, whatever order the steps ended in.
 */
export async function executeSteps(
  steps: readonly Step[],
  workloads: ReadonlyMap<string, { workload: ContainerWorkload; configHash: string; joins?: string }>,
  context: ExecutorContext,
): Promise<StepOutcome[]> {
  const limits = context.limits ?? DEFAULT_STEP_LIMITS
  const outcomes: (StepOutcome | undefined)[] = steps.map(() => undefined)
  const failed = new Set<string>()
  const created = new Map<string, string>()
  const deps = stepDependencies(steps)
  const state: StepState[] = steps.map(() => 'waiting')
  const run = async (index: number, step: Exclude<Step, { kind: 'wait' }>): Promise<void> => {
    try {
      const containerId = await applyStep(step, workloads, created, context)
      outcomes[index] = { workload: step.workload, step: step.kind, ok: true, ...(containerId ? { containerId } : {}) }
    } catch (error) {
      failed.add(step.workload)
      const message = (error as Error).message
      context.logger.warn({ workload: step.workload, step: step.kind, err: error }, 'reconcile step failed')
      outcomes[index] = { workload: step.workload, step: step.kind, ok: false, error: message }
    }
  }
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      // Steps that will not run end at once, so what waits on them can go.
      steps.forEach((step, i) => {
        if (state[i] === 'waiting' && (step.kind === 'wait' || failed.has(step.workload)) && (deps[i] ?? []).every((d) => state[d] === 'done'))
          state[i] = 'done'
      })
      for (const i of readySteps(steps, deps, state, limits)) {
        const step = steps[i]
        if (!step || step.kind === 'wait') continue
        state[i] = 'running'
        void run(i, step).then(() => {
          state[i] = 'done'
          pump()
        })
      }
      if (state.every((s) => s === 'done')) resolve()
    }
    pump()
  })
  return outcomes.filter((outcome): outcome is StepOutcome => outcome !== undefined)
}

async function applyStep(
  step: Exclude<Step, { kind: 'wait' }>,
  workloads: ReadonlyMap<string, { workload: ContainerWorkload; configHash: string; joins?: string }>,
  created: Map<string, string>,
  context: ExecutorContext,
): Promise<string | undefined> {
  const { runtime } = context
  const values = context.values ?? NO_VALUES
  const desired = (): { workload: ContainerWorkload; configHash: string; joins?: string } => {
    const entry = workloads.get(step.workload)
    if (!entry) throw new Error(`no desired workload named ${step.workload}`)
    return entry
  }
  const create = async (): Promise<string> => {
    const { workload, configHash, joins } = desired()
    const prepared = values.prepare(workload, configHash)
    const id = await runtime.create({
      nodeId: context.nodeId,
      name: containerName(context.nodeId, workload.name),
      workload,
      configHash,
      ...(joins !== undefined ? { networkOf: containerName(context.nodeId, joins) } : {}),
      extraLabels: context.extraLabels,
      ...(prepared ? { values: prepared } : {}),
      ...(context.logDefaults ? { logDefaults: context.logDefaults } : {}),
    })
    created.set(step.workload, id)
    return id
  }
  const stopAndRemove = async (containerId: string): Promise<void> => {
    context.stopping.add(containerId)
    try {
      await runtime.stop(containerId)
      await runtime.remove(containerId)
    } finally {
      context.stopping.delete(containerId)
    }
  }
  switch (step.kind) {
    case 'pull': {
      const { workload } = desired()
      context.onPullStart?.(step.workload, step.image)
      await runtime.pull(step.image, values.pullCredentials(workload), (progress) => context.onPullProgress?.(step.workload, progress))
      return undefined
    }
    case 'create':
      return create()
    case 'start': {
      const id = step.containerId ?? created.get(step.workload)
      if (!id) throw new Error(`no container to start for ${step.workload}`)
      // The files again before a start: a reboot may have emptied the tmpfs since the create.
      if (step.containerId !== null) {
        const { workload, configHash } = desired()
        values.prepare(workload, configHash)
      }
      await runtime.start(id)
      return id
    }
    case 'stop':
      context.stopping.add(step.containerId)
      try {
        await runtime.stop(step.containerId)
      } finally {
        context.stopping.delete(step.containerId)
      }
      return step.containerId
    case 'remove':
      await stopAndRemove(step.containerId)
      return step.containerId
    case 'recreate': {
      await stopAndRemove(step.containerId)
      const id = await create()
      await runtime.start(id)
      return id
    }
    default: {
      const unreachable: never = step
      throw new Error(`no executor for step ${JSON.stringify(unreachable)}`)
    }
  }
}
