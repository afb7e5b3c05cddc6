import { allContainerTemplates, type ContainerTemplate, type ObjectData, type WorkloadTemplate, type WorkloadValues } from '../../protocol/index.js'
import type { ContainerWorkload } from '../runtime/runtime.js'

/** Reads one Secret's data for this node (opened from its sealed box); throws when it cannot. */
export type SecretReader = (secret: string) => ObjectData

/** Registry credentials as the engine takes them: inline, or read from a Secret. */
export interface RegistryCredentials {
  readonly registry?: string
  readonly username: string
  readonly password: string
}

/** What a template's references come to on this node. Secret values inside: never log it. */
export interface ResolvedValues {
  /** Only the variables that refer to a Config or Secret; literal ones stay in the template. */
  readonly env: Readonly<Record<string, string>>
  /** Config name → its keys as files, for each Config mounted as a volume. */
  readonly configFiles: Readonly<Record<string, ObjectData>>
  /** Secret name → its keys as files, for each Secret mounted as a volume. */
  readonly secretFiles: Readonly<Record<string, ObjectData>>
}

/** A reference the document's values cannot satisfy: the hub sent a template without what it refers to. */
export class ValueRefError extends Error {
  readonly code = 'bad-value-ref'
  constructor(
    readonly workload: string,
    message: string,
  ) {
    super(`workload ${workload}: ${message}`)
    this.name = 'ValueRefError'
  }
}

/** Whether a template refers to any Config or Secret (env, volumes or pull credentials). */
export function usesValues(template: ContainerTemplate): boolean {
  return valueRefs(template).length > 0
}

/** Each reference of a template (every container's), spelled for a message: "env X from config C", "volume /p from secret S". */
export function valueRefs(template: WorkloadTemplate): string[] {
  return allContainerTemplates(template).flatMap(containerValueRefs)
}

function containerValueRefs(template: ContainerTemplate): string[] {
  const refs: string[] = []
  for (const [name, value] of Object.entries(template.env ?? {})) {
    if (typeof value === 'string') continue
    refs.push(`env ${name} from ${value.config !== undefined ? `config ${value.config}` : `secret ${value.secret ?? ''}`}`)
  }
  for (const volume of template.volumes ?? []) {
    if (volume.config !== undefined) refs.push(`volume ${volume.path} from config ${volume.config}`)
    if (volume.secret !== undefined) refs.push(`volume ${volume.path} from secret ${volume.secret}`)
  }
  if (template.pullCredentials?.secret !== undefined) refs.push(`pullCredentials from secret ${template.pullCredentials.secret}`)
  return refs
}

/**
 * The env values and files a workload's references come to. Pure but for `readSecret`, which the
 * caller memoizes and which is called only for Secrets the template actually uses.
 */
export function resolveValues(workload: Pick<ContainerWorkload, 'name' | 'template' | 'values'>, readSecret: SecretReader): ResolvedValues {
  const { template } = workload
  const config = (name: string): ObjectData => configData(workload.name, workload.values, name)
  const secret = (name: string): ObjectData => {
    if (!workload.values?.secrets?.[name]) throw new ValueRefError(workload.name, `refers to secret ${name}, which the document does not carry`)
    return readSecret(name)
  }
  const env: Record<string, string> = {}
  for (const name of Object.keys(template.env ?? {}).sort()) {
    const value = template.env?.[name]
    if (value === undefined || typeof value === 'string') continue
    const [kind, object] = value.config !== undefined ? (['config', value.config] as const) : (['secret', value.secret ?? ''] as const)
    const data = kind === 'config' ? config(object) : secret(object)
    const found = data[value.key]
    if (found === undefined) throw new ValueRefError(workload.name, `env ${name} refers to key ${value.key} of ${kind} ${object}, which has no such key`)
    env[name] = found
  }
  const configFiles: Record<string, ObjectData> = {}
  const secretFiles: Record<string, ObjectData> = {}
  for (const volume of template.volumes ?? []) {
    if (volume.config !== undefined) configFiles[volume.config] = config(volume.config)
    if (volume.secret !== undefined) secretFiles[volume.secret] = secret(volume.secret)
  }
  return { env, configFiles, secretFiles }
}

/**
 * Credentials for pulling the workload's image, or none. By Secret: its `username` and
 * `password`; the registry is the template's, else the Secret's `registry` key, else (left to the
 * engine call) the image's own.
 */
export function resolvePullCredentials(
  workload: Pick<ContainerWorkload, 'name' | 'template' | 'values'>,
  readSecret: SecretReader,
): RegistryCredentials | undefined {
  const credentials = workload.template.pullCredentials
  if (!credentials) return undefined
  if (credentials.secret === undefined) {
    if (credentials.username === undefined || credentials.password === undefined) return undefined
    return { username: credentials.username, password: credentials.password, ...(credentials.registry !== undefined ? { registry: credentials.registry } : {}) }
  }
  const name = credentials.secret
  if (!workload.values?.secrets?.[name]) throw new ValueRefError(workload.name, `pullCredentials refer to secret ${name}, which the document does not carry`)
  const data = readSecret(name)
  const { username, password } = data
  if (!username || !password) throw new ValueRefError(workload.name, `pullCredentials: secret ${name} needs the keys username and password`)
  const registry = credentials.registry ?? (data.registry || undefined)
  return { username, password, ...(registry !== undefined ? { registry } : {}) }
}

/** The versions of each Config and Secret a workload's values pin; empty records when none. */
export function valueVersions(values: WorkloadValues | undefined): { configs: Record<string, number>; secrets: Record<string, number> } {
  return {
    configs: Object.fromEntries(Object.entries(values?.configs ?? {}).map(([name, config]) => [name, config.version])),
    secrets: Object.fromEntries(Object.entries(values?.secrets ?? {}).map(([name, secret]) => [name, secret.version])),
  }
}

function configData(workload: string, values: WorkloadValues | undefined, name: string): ObjectData {
  const config = values?.configs?.[name]
  if (!config) throw new ValueRefError(workload, `refers to config ${name}, which the document does not carry`)
  return config.data
}
