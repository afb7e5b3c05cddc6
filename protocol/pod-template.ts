import { z } from 'zod'
import { ContainerTemplate, type DeviceMapping, NetworkMode } from './container-template.js'
import { type NodePolicy, policyRefusals } from './node-policy.js'
import { Name } from './primitives.js'

/**
 * One container of a several-container copy: the container fields and a name, unique in the copy.
 * The network is the copy's: every container of it shares one network namespace.
 */
export const PodContainer = ContainerTemplate.omit({ network: true }).extend({ name: Name.describe('unique among the containers of the copy') })
export type PodContainer = z.infer<typeof PodContainer>

/** Runs to completion before the copy's containers start; retried until it exits 0. No checks: it is done when it exits. */
export const InitContainer = PodContainer.omit({ restartPolicy: true, healthCheck: true, readiness: true })
export type InitContainer = z.infer<typeof InitContainer>

/** Containers that are placed, started, rolled and reported as one copy, like a Kubernetes pod. */
export const PodTemplate = z
  .strictObject({
    containers: z.array(PodContainer).min(1).max(16).describe('run together; they reach each other on localhost and may share named volumes'),
    initContainers: z.array(InitContainer).max(8).optional().describe('run one at a time, in order, each to exit 0, before the containers start'),
    network: NetworkMode.default('host').describe("the copy's network; the containers share it"),
    annotations: ContainerTemplate.shape.annotations,
  })
  .superRefine((pod, ctx) => {
    const seen = new Set<string>()
    const check = (list: 'containers' | 'initContainers', index: number, name: string): void => {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [list, index, 'name'], message: `another container of this copy is named ${name}` })
      seen.add(name)
    }
    pod.initContainers?.forEach((container, index) => check('initContainers', index, container.name))
    pod.containers.forEach((container, index) => check('containers', index, container.name))
  })
export type PodTemplate = z.infer<typeof PodTemplate>

/** What a copy runs: one container (image and its fields), or several (containers, initContainers). */
export const WorkloadTemplate = z.union([ContainerTemplate, PodTemplate])
export type WorkloadTemplate = z.infer<typeof WorkloadTemplate>
export type WorkloadTemplateInput = z.input<typeof WorkloadTemplate>

export function isPodTemplate(template: WorkloadTemplate): template is PodTemplate {
  return 'containers' in template
}

/** One container of a copy, as a whole container template: the copy's network filled in. */
export interface CopyContainer {
  readonly name: string
  /** Runs to completion before the others start. */
  readonly init: boolean
  readonly template: ContainerTemplate
}

/**
 * The containers of a copy, init containers first, in their order. A one-container template is
 * one container named after the copy's deployment (what `shoal logs -c` takes for it).
 */
export function copyContainers(template: WorkloadTemplate, deployment: string): CopyContainer[] {
  if (!isPodTemplate(template)) return [{ name: deployment, init: false, template }]
  const { network } = template
  return [
    // An init container is retried until it succeeds, and stays exited once it has.
    ...(template.initContainers ?? []).map(({ name, ...fields }) => ({
      name,
      init: true,
      template: { ...fields, network, restartPolicy: 'on-failure' as const },
    })),
    ...template.containers.map(({ name, ...fields }) => ({ name, init: false, template: { ...fields, network } })),
  ]
}

/**
 * Every container template of a copy (init containers included), for what asks about all of
 * them: images, references to Configs and Secrets, devices, node policy.
 */
export function allContainerTemplates(template: WorkloadTemplate): ContainerTemplate[] {
  return copyContainers(template, 'copy').map((container) => container.template)
}

/** The devices every container of a copy is given. */
export function copyDevices(template: WorkloadTemplate): DeviceMapping[] {
  return allContainerTemplates(template).flatMap((container) => container.devices ?? [])
}

/** What the copy's containers ask for that the node's policy does not allow, each phrase once (see policyRefusals). */
export function copyPolicyRefusals(template: WorkloadTemplate, policy: NodePolicy): string[] {
  return [...new Set(allContainerTemplates(template).flatMap((container) => policyRefusals(container, policy)))]
}

/** The copy's images for people to read: the image, or each container's as name=image. */
export function templateImages(template: WorkloadTemplate): string {
  if (!isPodTemplate(template)) return template.image
  return template.containers.map((container) => `${container.name}=${container.image}`).join(', ')
}
