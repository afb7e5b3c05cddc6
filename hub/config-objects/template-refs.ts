import { canonicalJson, isPodTemplate, type ConfigObjectKind, type ContainerTemplate, type ObjectData, type WorkloadTemplate } from '../../protocol/index.js'

/** The version of each Config and Secret a revision's template refers to: part of what the revision is. */
export interface RevisionPins {
  readonly configs: Readonly<Record<string, number>>
  readonly secrets: Readonly<Record<string, number>>
}

export const NO_PINS: RevisionPins = { configs: {}, secrets: {} }

/** One place a template refers to a Config or Secret. */
export interface TemplateRef {
  readonly kind: ConfigObjectKind
  readonly name: string
  /** The keys it needs; none for a volume, which mounts whatever keys there are. */
  readonly keys: readonly string[]
  /** Where, as a dotted path under spec.template. */
  readonly field: string
}

/** Every reference in a template (each container's, for several), in field order. Pure. */
export function templateRefs(template: WorkloadTemplate): TemplateRef[] {
  if (!isPodTemplate(template)) return containerRefs(template, '')
  return [
    ...(template.initContainers ?? []).flatMap((container, index) => containerRefs(container, `initContainers[${index}].`)),
    ...template.containers.flatMap((container, index) => containerRefs(container, `containers[${index}].`)),
  ]
}

function containerRefs(template: Pick<ContainerTemplate, 'env' | 'volumes' | 'pullCredentials'>, prefix: string): TemplateRef[] {
  const refs: TemplateRef[] = []
  for (const [name, value] of Object.entries(template.env ?? {})) {
    if (typeof value === 'string') continue
    const kind = value.config !== undefined ? 'Config' : 'Secret'
    refs.push({ kind, name: value.config ?? value.secret ?? '', keys: [value.key], field: `${prefix}env.${name}` })
  }
  ;(template.volumes ?? []).forEach((volume, index) => {
    if (volume.config !== undefined) refs.push({ kind: 'Config', name: volume.config, keys: [], field: `${prefix}volumes[${index}].config` })
    if (volume.secret !== undefined) refs.push({ kind: 'Secret', name: volume.secret, keys: [], field: `${prefix}volumes[${index}].secret` })
  })
  const pull = template.pullCredentials
  if (pull?.secret !== undefined) refs.push({ kind: 'Secret', name: pull.secret, keys: ['username', 'password'], field: `${prefix}pullCredentials.secret` })
  return refs
}

export function usesObject(template: WorkloadTemplate, kind: ConfigObjectKind, name: string): boolean {
  return templateRefs(template).some((ref) => ref.kind === kind && ref.name === name)
}

/** The pins for a template given each object's current version (null: no such object). Pure. */
export function pinsFor(template: WorkloadTemplate, versionOf: (kind: ConfigObjectKind, name: string) => number | null): RevisionPins {
  const configs: Record<string, number> = {}
  const secrets: Record<string, number> = {}
  for (const ref of templateRefs(template)) {
    const version = versionOf(ref.kind, ref.name)
    if (version === null) continue
    if (ref.kind === 'Config') configs[ref.name] = version
    else secrets[ref.name] = version
  }
  return { configs, secrets }
}

export function samePins(a: RevisionPins, b: RevisionPins): boolean {
  return canonicalJson(a) === canonicalJson(b)
}

/**
 * What is wrong with a template's references, given what each object holds (null: no such
 * object): a missing object, or a key its base data lacks (an override may change a value, but
 * every node must have every key). Pure.
 */
export function refProblems(
  template: WorkloadTemplate,
  dataOf: (kind: ConfigObjectKind, name: string) => ObjectData | null,
): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = []
  for (const ref of templateRefs(template)) {
    const data = dataOf(ref.kind, ref.name)
    if (data === null) {
      problems.push({ field: ref.field, message: `${ref.kind} ${JSON.stringify(ref.name)} does not exist; apply it first (or in the same apply)` })
      continue
    }
    for (const key of ref.keys)
      if (!Object.hasOwn(data, key))
        problems.push({ field: ref.field, message: `${ref.kind} ${JSON.stringify(ref.name)} has no key ${JSON.stringify(key)} in its data` })
  }
  return problems
}
