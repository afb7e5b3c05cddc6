import { canonicalJson, resolveData, seal, sealContext, type ConfigObjectKind, type SealedBox, type WorkloadValues } from '../../protocol/index.js'
import type { ObjectBody } from './object-bodies.js'
import type { RevisionPins } from './template-refs.js'

/** The node a copy runs on, as far as its values are concerned. */
export interface ValuesNode {
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  readonly sealingKey: string | null
}

/** Why a copy cannot be given its values on a node. */
export interface ValuesProblem {
  readonly problem: string
}

/**
 * Sealed boxes kept from one pass to the next: sealing costs a key agreement, and a pass rebuilds
 * every node's document. An entry is as good as its inputs (node key, secret, version, overrides).
 */
export class SealCache {
  private previous = new Map<string, SealedBox>()
  private current = new Map<string, SealedBox>()

  /** Keeps only what the last pass used. */
  endPass(): void {
    this.previous = this.current
    this.current = new Map()
  }

  seal(
    node: ValuesNode & { sealingKey: string },
    name: string,
    version: number,
    overrides: readonly number[],
    data: Readonly<Record<string, string>>,
  ): SealedBox {
    const key = `${node.id}\n${node.sealingKey}\n${name}\n${version}\n${overrides.join(',')}`
    let box = this.current.get(key) ?? this.previous.get(key)
    if (!box) box = seal(Buffer.from(canonicalJson(data)), node.sealingKey, sealContext(node.id, name, version))
    this.current.set(key, box)
    return box
  }
}

/**
 * The values one copy runs with on one node: each pinned Config's and Secret's version, with the
 * overrides that match the node's labels laid over, Secrets sealed to the node. Bodies are read
 * once per resolver (one per pass).
 */
export class ValuesResolver {
  private readonly bodies = new Map<string, ObjectBody | null>()

  constructor(
    private readonly readBody: (kind: ConfigObjectKind, name: string, version: number) => ObjectBody | null,
    private readonly seals: SealCache,
  ) {}

  /** undefined: the revision pins nothing (the workload has no `values`, as before Configs). */
  valuesFor(node: ValuesNode, pins: RevisionPins): WorkloadValues | undefined | ValuesProblem {
    const configNames = Object.keys(pins.configs)
    const secretNames = Object.keys(pins.secrets)
    if (configNames.length === 0 && secretNames.length === 0) return undefined
    const values: { configs?: NonNullable<WorkloadValues['configs']>; secrets?: NonNullable<WorkloadValues['secrets']> } = {}
    for (const name of configNames.sort()) {
      const version = pins.configs[name] ?? 0
      const body = this.body('Config', name, version)
      if (!body) return { problem: `Config ${name} version ${version} is no longer stored` }
      const resolved = resolveData(body, node.labels)
      values.configs = { ...values.configs, [name]: { version, overrides: [...resolved.overrides], data: resolved.data } }
    }
    for (const name of secretNames.sort()) {
      const version = pins.secrets[name] ?? 0
      const body = this.body('Secret', name, version)
      if (!body) return { problem: `Secret ${name} version ${version} is no longer stored` }
      const sealingKey = node.sealingKey
      if (sealingKey === null)
        return { problem: `node ${node.id} has not registered a sealing key yet (its agent is older than Secrets, or has not reported since it was upgraded)` }
      const resolved = resolveData(body, node.labels)
      const sealed = this.seals.seal({ ...node, sealingKey }, name, version, resolved.overrides, resolved.data)
      values.secrets = { ...values.secrets, [name]: { version, overrides: [...resolved.overrides], sealed } }
    }
    return values
  }

  private body(kind: ConfigObjectKind, name: string, version: number): ObjectBody | null {
    const key = `${kind}/${name}@${version}`
    if (!this.bodies.has(key)) this.bodies.set(key, this.readBody(kind, name, version))
    return this.bodies.get(key) ?? null
  }
}

export function isValuesProblem(value: WorkloadValues | undefined | ValuesProblem): value is ValuesProblem {
  return value !== undefined && 'problem' in value
}
