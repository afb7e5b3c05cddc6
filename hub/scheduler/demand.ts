import type { Resources } from '../../protocol/container-template.js'
import { desiredReplicas, type DeploymentSpec } from '../../protocol/manifest.js'
import { requiredDevices } from '../../protocol/node-policy.js'
import { copyContainers, copyDevices } from '../../protocol/pod-template.js'
import { cpuMillis, durationMs, memoryBytes } from '../../protocol/quantity.js'
import type { Amounts, SchedulerDeployment, SchedulerNode } from './types.js'

/**
 * What the checks and rankers read of a spec: the placement words and the template, which a
 * Deployment and a Job share (a Job has no offline grace: its copies are not moved).
 */
export type DemandSpec = Pick<DeploymentSpec, 'mode' | 'selector' | 'requires' | 'spread' | 'affinity' | 'template'> & {
  readonly offlineGrace: string
}

/** A deployment (or a job) compiled once per pass into what the checks and rankers read. */
export interface Demand {
  readonly name: string
  readonly spec: DemandSpec
  readonly mode: 'replicated' | 'every-node'
  /** Copies wanted; 0 for every-node, where the matching nodes decide. */
  readonly replicas: number
  readonly request: Amounts
  readonly graceMs: number
  readonly topologyKey: string | null
  readonly dataRequired: readonly string[]
  readonly dataPreferred: readonly string[]
  /** Every device path the copy needs on its node: `requires.devices` and the template's devices. */
  readonly devices: readonly string[]
}

export function demandOf(deployment: SchedulerDeployment): Demand {
  const { spec } = deployment
  return placementDemand(deployment.name, spec, spec.mode === 'every-node' ? 0 : desiredReplicas(spec))
}

/** The demand of copies placed by `spec`'s words, `replicas` of them (0 for every-node). */
export function placementDemand(name: string, spec: DemandSpec, replicas: number): Demand {
  return {
    name,
    spec,
    mode: spec.mode,
    replicas,
    request: copyRequest(spec.template),
    graceMs: durationMs(spec.offlineGrace),
    topologyKey: spec.spread?.topologyKey ?? null,
    dataRequired: spec.affinity?.data?.required ?? [],
    dataPreferred: spec.affinity?.data?.preferred ?? [],
    devices: requiredDevices(spec.requires?.devices, copyDevices(spec.template)),
  }
}

/** The topology domain of a node: its value for the spread key, or '' when it lacks the key. */
export function domainOf(node: SchedulerNode, topologyKey: string | null): string {
  if (topologyKey === null) return ''
  return node.labels[topologyKey] ?? ''
}

/** A node holds data set X when it has the label `data=X` or a label with the key `data/X`. */
export function holdsData(node: SchedulerNode, dataSet: string): boolean {
  return node.labels['data'] === dataSet || Object.hasOwn(node.labels, `data/${dataSet}`)
}

/** Offline for at least the deployment's grace. An offline node with no known start counts as past grace. */
export function offlinePastGrace(node: SchedulerNode, demand: Demand, now: number): boolean {
  if (node.online) return false
  if (node.offlineSince === null) return true
  return now - node.offlineSince >= demand.graceMs
}

/**
 * What a copy asks of its node: its containers' requests added up, or an init container's if that
 * is larger (init containers run one at a time, before the others), as Kubernetes counts a pod.
 */
export function copyRequest(template: DemandSpec['template']): Amounts {
  const amounts = (resources: Resources | undefined): Amounts => ({
    cpuMillis: resources?.cpu === undefined ? 0 : cpuMillis(resources.cpu),
    memoryBytes: resources?.memory === undefined ? 0 : memoryBytes(resources.memory),
    gpus: resources?.gpu ?? 0,
  })
  const containers = copyContainers(template, 'copy')
  const running = containers.filter((c) => !c.init).map((c) => amounts(c.template.resources))
  const sum = running.reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes, gpus: a.gpus + b.gpus }))
  return containers
    .filter((c) => c.init)
    .map((c) => amounts(c.template.resources))
    .reduce(
      (a, b) => ({ cpuMillis: Math.max(a.cpuMillis, b.cpuMillis), memoryBytes: Math.max(a.memoryBytes, b.memoryBytes), gpus: Math.max(a.gpus, b.gpus) }),
      sum,
    )
}
