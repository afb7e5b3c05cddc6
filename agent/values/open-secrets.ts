import type { KeyObject } from 'node:crypto'
import { type DesiredDocument, ObjectData, type SecretValues, UnsealError, type WorkloadValues, sealContext, unseal } from '../../protocol/index.js'

/** A sealed Secret in a desired document, and where it sits. */
export interface SealedSecretRef {
  readonly workload: string
  /** Set when the Secret belongs to the workload's fallback revision, not its current one. */
  readonly fallbackRevision?: number
  readonly secret: string
  readonly version: number
  readonly values: SecretValues
}

/** A box that opened but does not hold what a Secret's data must be. */
export class SecretFormatError extends Error {
  readonly code = 'bad-secret-data'
  constructor(
    readonly secret: string,
    readonly version: number,
  ) {
    super(`secret ${secret} version ${version} decrypts, but not to a JSON object of strings`)
    this.name = 'SecretFormatError'
  }
}

/**
 * A Secret's data for this node: its box opened with the node's key and the canonical JSON read
 * back. Throws UnsealError (another node's box, or changed bytes) or SecretFormatError. The
 * result must only ever reach a container: never a log, an event or a status.
 */
export function openSecret(nodeId: string, secret: string, values: SecretValues, privateKey: KeyObject): ObjectData {
  const plaintext = unseal(values.sealed, privateKey, sealContext(nodeId, secret, values.version))
  let parsed: unknown
  try {
    parsed = JSON.parse(plaintext.toString('utf8'))
  } catch {
    throw new SecretFormatError(secret, values.version)
  }
  const checked = ObjectData.safeParse(parsed)
  if (!checked.success) throw new SecretFormatError(secret, values.version)
  return checked.data
}

/** Every sealed Secret of a document: each workload's, then its fallback's. */
export function sealedSecretsOf(document: Pick<DesiredDocument, 'workloads'>): SealedSecretRef[] {
  const refs: SealedSecretRef[] = []
  const add = (workload: string, values: WorkloadValues | undefined, fallbackRevision?: number): void => {
    for (const [secret, sealed] of Object.entries(values?.secrets ?? {})) {
      refs.push({ workload, secret, version: sealed.version, values: sealed, ...(fallbackRevision !== undefined ? { fallbackRevision } : {}) })
    }
  }
  for (const workload of document.workloads) {
    add(workload.name, workload.values)
    if (workload.fallback) add(workload.name, workload.fallback.values, workload.fallback.revision)
  }
  return refs
}

/** Why a document's Secrets cannot all be opened on this node, naming the first that fails; null when they all open. */
export function unopenableSecret(
  document: Pick<DesiredDocument, 'workloads'>,
  nodeId: string,
  privateKey: KeyObject | null,
): { code: string; reason: string } | null {
  for (const ref of sealedSecretsOf(document)) {
    const where = `workload ${ref.workload}${ref.fallbackRevision !== undefined ? ` (its fallback, revision ${ref.fallbackRevision})` : ''}: secret ${ref.secret} version ${ref.version}`
    if (privateKey === null) return { code: 'no-sealing-key', reason: `${where} is sealed, and this node has no sealing key loaded` }
    try {
      openSecret(nodeId, ref.secret, ref.values, privateKey)
    } catch (error) {
      if (error instanceof UnsealError)
        return {
          code: 'unsealable-secret',
          reason: `${where} does not open with this node's sealing key: it was sealed to another key, or changed after sealing; the previous document keeps running`,
        }
      if (error instanceof SecretFormatError) return { code: 'unsealable-secret', reason: `${where}: ${error.message}; the previous document keeps running` }
      throw error
    }
  }
  return null
}
