import {
  canonicalJson,
  dataBytes,
  type ConfigObject,
  type ConfigObjectKind,
  type WorkloadTemplate,
  type Deployment,
  type ObjectData,
} from '../../protocol/index.js'
import type { AppliedManifest, ConfigObjectCopy, ConfigObjectDeleted, ConfigObjectDetail, ConfigObjectView } from '../../protocol/api/index.js'
import type { HubStore } from '../store/hub-store.js'
import { ConfigObjectNotFoundError } from '../store/not-found.js'
import type { ObjectBodies, ObjectBody } from './object-bodies.js'
import { pinsFor, refProblems, samePins, usesObject, type RevisionPins } from './template-refs.js'

/** A Config or Secret that deployments still use cannot be deleted. */
export class ConfigObjectInUseError extends Error {
  constructor(
    readonly kind: ConfigObjectKind,
    readonly objectName: string,
    readonly users: readonly string[],
  ) {
    super(`${kind} ${objectName} is used by deployment(s) ${users.join(', ')}; change or delete them first`)
    this.name = 'ConfigObjectInUseError'
  }
}

/** A reference that does not hold: where it is, and what is wrong. */
export interface RefProblem {
  /** Index of the manifest in the apply, or null for a deployment already stored. */
  readonly manifestIndex: number | null
  readonly path: string
  readonly message: string
}

/** One manifest's result, before the fleet pass adds where its copies went. */
export type ObjectApplied = Pick<AppliedManifest, 'name' | 'outcome' | 'revision'> & { readonly kind: ConfigObjectKind; readonly rolled: string[] }

const pinsKey = (kind: ConfigObjectKind): keyof RevisionPins => (kind === 'Config' ? 'configs' : 'secrets')

/**
 * Configs and Secrets: storing their versions, checking the references to them, and rolling the
 * deployments that use one when it changes (a new revision with the new version pinned, rolled out
 * like a template change). The apply steps run inside the caller's transaction.
 */
export class ConfigObjectService {
  constructor(
    private readonly store: HubStore,
    private readonly bodies: ObjectBodies,
  ) {}

  /** Stores each object's new version where its data or overrides changed. Inside a transaction. */
  applyObjects(objects: readonly ConfigObject[], at: string, actor: string): ObjectApplied[] {
    return objects.map((object) => {
      const { kind } = object
      const name = object.metadata.name
      const labels = object.metadata.labels ?? {}
      const body: ObjectBody = { data: object.data, overrides: object.overrides ?? [] }
      const existing = this.store.configObjects.get(kind, name)
      const current = existing ? this.bodies.read(kind, name, existing.version) : null
      let outcome: AppliedManifest['outcome']
      let version: number
      if (existing && current && canonicalJson(current) === canonicalJson(body)) {
        version = existing.version
        outcome = canonicalJson(existing.labels) === canonicalJson(labels) ? 'unchanged' : 'configured'
        if (outcome === 'configured') this.store.configObjects.relabel(kind, name, labels, at)
      } else {
        version = this.bodies.write(kind, name, labels, body, at)
        outcome = existing ? 'configured' : 'created'
      }
      if (outcome !== 'unchanged')
        this.store.audit.append({ at, actor, action: `${kind.toLowerCase()}.${outcome}`, target: name, detail: JSON.stringify({ version }) })
      return { kind, name, outcome, revision: version, rolled: [] }
    })
  }

  /** The current data of an object (after this transaction's writes), or null. */
  dataOf(kind: ConfigObjectKind, name: string): ObjectData | null {
    return this.bodies.current(kind, name)?.data ?? null
  }

  /**
   * What does not hold once these deployments are applied: their own references, and those of
   * stored deployments to objects this apply changed (a removed key).
   */
  refProblems(deployments: readonly { manifest: Deployment; index: number }[], changed: readonly ObjectApplied[]): RefProblem[] {
    const dataOf = (kind: ConfigObjectKind, name: string) => this.dataOf(kind, name)
    const problems: RefProblem[] = []
    for (const { manifest, index } of deployments)
      for (const problem of refProblems(manifest.spec.template, dataOf))
        problems.push({ manifestIndex: index, path: `spec.template.${problem.field}`, message: problem.message })
    const applying = new Set(deployments.map((d) => d.manifest.metadata.name))
    for (const stored of this.store.deployments.list()) {
      if (applying.has(stored.name)) continue
      const template = stored.manifest.spec.template
      if (!changed.some((object) => object.outcome !== 'unchanged' && usesObject(template, object.kind, object.name))) continue
      for (const problem of refProblems(template, dataOf)) {
        const index = changed.findIndex((object) => problem.message.startsWith(`${object.kind} ${JSON.stringify(object.name)}`))
        problems.push({
          manifestIndex: index === -1 ? null : index,
          path: 'data',
          message: `deployment ${stored.name} needs it (spec.template.${problem.field}): ${problem.message}`,
        })
      }
    }
    return problems
  }

  /** The versions a template runs with now. */
  pinsFor(template: WorkloadTemplate): RevisionPins {
    return pinsFor(template, (kind, name) => this.store.configObjects.get(kind, name)?.version ?? null)
  }

  /**
   * Gives every stored deployment that uses a changed object (and is not in this apply) a new
   * revision pinning the new versions; fills in each object's `rolled`. Inside a transaction.
   */
  rollUsers(applied: ObjectApplied[], skip: ReadonlySet<string>, at: string, actor: string): void {
    const changed = applied.filter((object) => object.outcome !== 'unchanged')
    if (changed.length === 0) return
    for (const deployment of this.store.deployments.list()) {
      if (skip.has(deployment.name)) continue
      const template = deployment.manifest.spec.template
      const users = changed.filter((object) => usesObject(template, object.kind, object.name))
      if (users.length === 0) continue
      const pins = this.pinsFor(template)
      if (samePins(pins, this.store.deployments.pins(deployment.name, deployment.revision))) continue
      const revision = this.store.deployments.repin(deployment.name, pins, at)
      const because = users.map((object) => `${object.kind} ${object.name} version ${object.revision}`)
      this.store.audit.append({ at, actor, action: 'deployment.configured', target: deployment.name, detail: JSON.stringify({ revision, because }) })
      for (const object of users) object.rolled.push(deployment.name)
    }
    this.pruneVersions(changed)
  }

  list(kind: ConfigObjectKind): ConfigObjectView[] {
    const deployments = this.store.deployments.list()
    return this.store.configObjects.list(kind).map((record) => this.view(kind, record.name, deployments))
  }

  detail(kind: ConfigObjectKind, name: string): ConfigObjectDetail {
    const deployments = this.store.deployments.list()
    const view = this.view(kind, name, deployments)
    const record = this.store.configObjects.get(kind, name)
    const body = record ? this.bodies.read(kind, name, record.version) : null
    const used = new Set(view.usedBy)
    const statuses = new Map(this.store.status.workloads().map((w) => [`${w.nodeId}/${w.name}`, w]))
    const pinsByRevision = new Map<string, RevisionPins>()
    const copies: ConfigObjectCopy[] = this.store.deployments
      .placements()
      .filter((placement) => used.has(placement.deployment))
      .map((placement) => {
        const revision = placement.revision
        let desiredVersion: number | null = null
        if (revision !== null) {
          const key = `${placement.deployment}@${revision}`
          if (!pinsByRevision.has(key)) pinsByRevision.set(key, this.store.deployments.pins(placement.deployment, revision))
          desiredVersion = pinsByRevision.get(key)?.[pinsKey(kind)][name] ?? null
        }
        const status = statuses.get(`${placement.nodeId}/${placement.workload}`)
        const running = kind === 'Config' ? status?.configVersions : status?.secretVersions
        return {
          nodeId: placement.nodeId,
          workload: placement.workload,
          deployment: placement.deployment,
          desiredVersion,
          runningVersion: running?.[name] ?? null,
        }
      })
    return {
      ...view,
      ...(kind === 'Config' && body ? { data: body.data, overrideData: [...body.overrides] } : {}),
      copies,
    }
  }

  /** Refused while a deployment's current template uses it; versions old revisions pin stay until no revision does. */
  delete(kind: ConfigObjectKind, name: string, at: string, actor: string): ConfigObjectDeleted {
    return this.store.transaction(() => {
      if (!this.store.configObjects.get(kind, name)) throw new ConfigObjectNotFoundError(kind, name)
      const users = this.store.deployments
        .list()
        .filter((d) => usesObject(d.manifest.spec.template, kind, name))
        .map((d) => d.name)
      if (users.length > 0) throw new ConfigObjectInUseError(kind, name, users)
      this.store.configObjects.delete(kind, name)
      this.pruneVersions([{ kind, name }])
      this.store.audit.append({ at, actor, action: `${kind.toLowerCase()}.delete`, target: name, detail: null })
      return { deleted: name }
    })
  }

  private view(kind: ConfigObjectKind, name: string, deployments: readonly { name: string; manifest: Deployment }[]): ConfigObjectView {
    const record = this.store.configObjects.get(kind, name)
    if (!record) throw new ConfigObjectNotFoundError(kind, name)
    const body = this.bodies.read(kind, name, record.version)
    const keySizes = (data: ObjectData) =>
      Object.keys(data)
        .sort()
        .map((key) => ({ key, bytes: dataBytes({ '': data[key] ?? '' }) }))
    return {
      kind,
      name,
      labels: { ...record.labels },
      version: record.version,
      keys: body ? keySizes(body.data) : [],
      overrides: (body?.overrides ?? []).map((override) => ({ selector: override.selector, keys: keySizes(override.data) })),
      usedBy: deployments.filter((d) => usesObject(d.manifest.spec.template, kind, name)).map((d) => d.name),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    }
  }

  /** Drops versions of these objects that no kept revision pins (the current one stays). */
  private pruneVersions(objects: readonly { kind: ConfigObjectKind; name: string }[]): void {
    const all = this.store.deployments.allPins()
    for (const { kind, name } of objects) {
      const keep = new Set(all.map((pins) => pins[pinsKey(kind)][name]).filter((version): version is number => version !== undefined))
      this.store.configObjects.pruneVersions(kind, name, keep)
    }
  }
}
