import { splitMemberName } from './copy-members.js'
import type { Step } from './plan.js'

/** How many steps of one pass may run at once, and how many of them may be pulls. */
export interface StepLimits {
  readonly steps: number
  readonly pulls: number
}

/** When no firmware profile says otherwise: a few at once, gentle enough for a small board. */
export const DEFAULT_STEP_LIMITS: StepLimits = { steps: 4, pulls: 2 }

/**
 * Which steps of one pass must wait for which: for each step, the indices of the earlier steps
 * that must be done before it runs. Steps depend only on earlier ones, so the plan's order is
 * always a valid order and one step at a time runs the plan exactly as written. Pure.
 *
 * - A workload's steps keep their order (pull, then create, then start; stop and remove before
 *   the create of a replacement of the same name). So do all the containers of a
 *   several-container copy (copy-members.ts): init containers, the container whose network
 *   namespace the others join, and its joiners run in the plan's order, one after another.
 * - A step that takes what a container holds (create, start, recreate) waits for every earlier
 *   stop and remove of other workloads: a renamed workload may reuse the host port, device or
 *   name of the one it replaces, and the plan puts removals first for that reason.
 * - A pull waits for an earlier pull of the same image, so one download serves both.
 * - `wait` steps do nothing: they neither wait nor are waited for.
 */
export function stepDependencies(steps: readonly Step[]): number[][] {
  const lastInLane = new Map<string, number>()
  const lastPullOf = new Map<string, number>()
  const freeing: number[] = []
  return steps.map((step, index) => {
    if (step.kind === 'wait') return []
    const deps = new Set<number>()
    const lane = laneOf(step.workload)
    const previous = lastInLane.get(lane)
    if (previous !== undefined) deps.add(previous)
    lastInLane.set(lane, index)
    if (step.kind === 'create' || step.kind === 'start' || step.kind === 'recreate') {
      for (const earlier of freeing) if (laneOf(steps[earlier]?.workload ?? '') !== lane) deps.add(earlier)
    }
    if (step.kind === 'stop' || step.kind === 'remove') freeing.push(index)
    if (step.kind === 'pull') {
      const samePull = lastPullOf.get(step.image)
      if (samePull !== undefined) deps.add(samePull)
      lastPullOf.set(step.image, index)
    }
    return [...deps].sort((a, b) => a - b)
  })
}

/** A several-container copy is one lane: its members keep their order. */
function laneOf(workload: string): string {
  return splitMemberName(workload)?.copy ?? workload
}

/**
 * The next steps to start, lowest index first: waiting, every dependency done, within the
 * limits given what runs. Pure; the executor calls it whenever a step ends.
 */
export function readySteps(steps: readonly Step[], deps: readonly (readonly number[])[], state: readonly StepState[], limits: StepLimits): number[] {
  let running = 0
  let pulling = 0
  state.forEach((s, i) => {
    if (s !== 'running') return
    running++
    if (steps[i]?.kind === 'pull') pulling++
  })
  const ready: number[] = []
  for (let i = 0; i < steps.length && running < limits.steps; i++) {
    if (state[i] !== 'waiting' || !(deps[i] ?? []).every((d) => state[d] === 'done')) continue
    if (steps[i]?.kind === 'pull') {
      if (pulling >= limits.pulls) continue
      pulling++
    }
    running++
    ready.push(i)
  }
  return ready
}

export type StepState = 'waiting' | 'running' | 'done'
