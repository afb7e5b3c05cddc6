import type { ContainerWorkload } from '../../agent/runtime/runtime.js'
import { type ContainerTemplate, isPodTemplate, Workload, type WorkloadTemplate } from '../../protocol/index.js'

/** A desired document's one-container workload, parsed, as the agent runs it (a container of its own). */
export function containerWorkload(input: unknown): ContainerWorkload {
  const { fallback: _fallback, ...workload } = Workload.parse(input)
  const { template } = workload
  if (isPodTemplate(template)) throw new TypeError(`${workload.name}: a one-container template was expected`)
  return { ...workload, template }
}

/** A template that must be a one-container one, as such. */
export function oneContainer(template: WorkloadTemplate): ContainerTemplate {
  if (isPodTemplate(template)) throw new TypeError('a one-container template was expected')
  return template
}
