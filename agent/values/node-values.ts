import type { KeyObject } from 'node:crypto'
import type { ObjectData } from '../../protocol/index.js'
import type { ContainerValues, ContainerWorkload, RegistryCredentials } from '../runtime/runtime.js'
import { openSecret } from './open-secrets.js'
import { type SecretReader, ValueRefError, resolvePullCredentials, resolveValues, usesValues, valueVersions } from './resolve-values.js'
import { ValueFiles } from './value-files.js'

/** What the reconciler and executor need of a workload's Configs and Secrets. */
export interface WorkloadValuesSource {
  /**
   * Writes (again, if need be) the files of the workload's Config and Secret volumes for the
   * container with this config hash, and resolves its env references; undefined when the template
   * refers to nothing. Throws with a message naming the reference (never a value).
   */
  prepare(workload: ContainerWorkload, configHash: string): ContainerValues | undefined
  /** The credentials to pull the workload's image with, Secrets opened; undefined when none. */
  pullCredentials(workload: ContainerWorkload): RegistryCredentials | undefined
  /** Removes the files of every container not listed: its workload and config hash. */
  prune(keep: Iterable<{ readonly workload: string; readonly configHash: string }>): string[]
}

export interface NodeValuesOptions {
  readonly nodeId: string
  /** The node's sealing key; null: a workload that uses a Secret fails with a clear error. */
  readonly privateKey: KeyObject | null
  readonly files: ValueFiles
}

/**
 * Secrets are opened here, and only here, from the sealed boxes of the stored document, each time
 * a container's values are prepared: nothing decrypted is kept beyond the call.
 */
export class NodeValues implements WorkloadValuesSource {
  constructor(private readonly options: NodeValuesOptions) {}

  prepare(workload: ContainerWorkload, configHash: string): ContainerValues | undefined {
    if (!usesValues(workload.template)) return undefined
    const resolved = resolveValues(workload, this.reader(workload))
    const dirs = this.options.files.write(workload.name, configHash, resolved)
    const versions = valueVersions(workload.values)
    return { env: resolved.env, configDirs: dirs.configs, secretDirs: dirs.secrets, configVersions: versions.configs, secretVersions: versions.secrets }
  }

  pullCredentials(workload: ContainerWorkload): RegistryCredentials | undefined {
    return resolvePullCredentials(workload, this.reader(workload))
  }

  prune(keep: Iterable<{ readonly workload: string; readonly configHash: string }>): string[] {
    return this.options.files.prune(new Set([...keep].map((k) => ValueFiles.slot(k.workload, k.configHash))))
  }

  /** Opens each Secret once per call, on first use. */
  private reader(workload: ContainerWorkload): SecretReader {
    const opened = new Map<string, ObjectData>()
    return (secret) => {
      const cached = opened.get(secret)
      if (cached) return cached
      const sealed = workload.values?.secrets?.[secret]
      if (!sealed) throw new ValueRefError(workload.name, `refers to secret ${secret}, which the document does not carry`)
      if (this.options.privateKey === null) throw new ValueRefError(workload.name, `secret ${secret} is sealed, and this node has no sealing key loaded`)
      const data = openSecret(this.options.nodeId, secret, sealed, this.options.privateKey)
      opened.set(secret, data)
      return data
    }
  }
}

/** For an agent assembled without values (unit tests, tools): inline credentials only; any reference fails clearly. */
export const NO_VALUES: WorkloadValuesSource = {
  prepare(workload) {
    if (usesValues(workload.template)) throw new ValueRefError(workload.name, 'refers to a Config or Secret, and this agent was assembled without values')
    return undefined
  },
  pullCredentials(workload) {
    return resolvePullCredentials(workload, (secret) => {
      throw new ValueRefError(workload.name, `pullCredentials refer to secret ${secret}, and this agent was assembled without values`)
    })
  },
  prune: () => [],
}
