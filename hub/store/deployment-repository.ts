import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import { canonicalJson, RolloutStrategy, type WorkloadTemplate, type Deployment } from '../../protocol/index.js'
import { NO_PINS, samePins, type RevisionPins } from '../config-objects/template-refs.js'

export interface DeploymentRecord {
  readonly name: string
  readonly revision: number
  readonly manifest: Deployment
  /**
   * The document of the last apply as written (field order kept, no defaults), like kubectl's
   * last-applied configuration; null before the hub kept it. A rollout undo or restart changes the
   * manifest without an apply, so it may lag the manifest: manifest-yaml.ts checks.
   */
  readonly applied: Readonly<Record<string, unknown>> | null
  readonly createdAt: string
  readonly updatedAt: string
}

export interface PlacementRecord {
  readonly nodeId: string
  readonly workload: string
  readonly deployment: string
  readonly replica: number
  /** The revision the rollout assigned this copy; null until a pass assigns one. */
  readonly revision: number | null
  /** Hub time (ms) since which the copy has been ready at that revision. */
  readonly readySince: number | null
  readonly createdAt: string
}

export type PlacementUpdate = Omit<PlacementRecord, 'createdAt' | 'revision' | 'readySince'> & Partial<Pick<PlacementRecord, 'revision' | 'readySince'>>

export interface RevisionRecord {
  readonly revision: number
  readonly template: WorkloadTemplate
  /** The Config and Secret versions this revision runs with. */
  readonly pins: RevisionPins
  readonly createdAt: string
}

/** What a copy at one revision runs: the template and the versions of what it refers to. */
export interface RevisionContent {
  readonly template: WorkloadTemplate
  readonly pins: RevisionPins
  /** Applied with --pull-now: its images are pulled whatever the nodes' bandwidth rules say. */
  readonly pullNow?: boolean
}

const pinsOf = (text: string | null): RevisionPins => (text === null ? NO_PINS : (JSON.parse(text) as RevisionPins))

/** Manifests stored before a field had a default lack it; reading fills it in as parsing would. */
function withDefaults(manifest: Deployment): Deployment {
  const spec = manifest.spec as Partial<Deployment['spec']> & Deployment['spec']
  if (spec.strategy !== undefined && spec.revisionHistoryLimit !== undefined) return manifest
  return { ...manifest, spec: { ...spec, strategy: spec.strategy ?? RolloutStrategy.parse({}), revisionHistoryLimit: spec.revisionHistoryLimit ?? 10 } }
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged'

export class DeploymentRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  list(): DeploymentRecord[] {
    const rows = this.sql.get('SELECT name, revision, manifest, applied, created_at, updated_at FROM deployments ORDER BY name').all() as {
      name: string
      revision: number
      manifest: string
      applied: string | null
      created_at: string
      updated_at: string
    }[]
    return rows.map((row) => ({
      name: row.name,
      revision: row.revision,
      manifest: withDefaults(JSON.parse(row.manifest) as Deployment),
      applied: row.applied === null ? null : (JSON.parse(row.applied) as Record<string, unknown>),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }))
  }

  get(name: string): DeploymentRecord | null {
    return this.list().find((d) => d.name === name) ?? null
  }

  /**
   * Creates or updates by name. Only a new template, or new versions of the Configs and Secrets it
   * refers to, make a new revision (and so a rollout); replicas, selector or strategy change the
   * deployment in place, as in Kubernetes. `written` (the document as applied) is kept beside it;
   * without one (a rollout undo or restart, a new Config version) the last one stays.
   */
  apply(
    manifest: Deployment,
    at: string,
    pins: RevisionPins = NO_PINS,
    written: Readonly<Record<string, unknown>> | null = null,
  ): { outcome: ApplyOutcome; revision: number } {
    const outcome = this.store(manifest, at, pins)
    if (written !== null) this.sql.get('UPDATE deployments SET applied = ? WHERE name = ?').run(JSON.stringify(written), manifest.metadata.name)
    return outcome
  }

  private store(manifest: Deployment, at: string, pins: RevisionPins): { outcome: ApplyOutcome; revision: number } {
    const existing = this.sql.get('SELECT revision, manifest FROM deployments WHERE name = ?').get(manifest.metadata.name) as
      | { revision: number; manifest: string }
      | undefined
    const text = canonicalJson(manifest)
    const name = manifest.metadata.name
    if (existing) {
      const before = JSON.parse(existing.manifest) as Deployment
      const samePinned = samePins(this.pins(name, existing.revision), pins)
      if (canonicalJson(withDefaults(before)) === text && samePinned) return { outcome: 'unchanged', revision: existing.revision }
      if (canonicalJson(before.spec.template) === canonicalJson(manifest.spec.template) && samePinned) {
        this.sql.get('UPDATE deployments SET manifest = ?, updated_at = ? WHERE name = ?').run(text, at, name)
        return { outcome: 'configured', revision: existing.revision }
      }
    }
    const previous = this.sql.get('SELECT MAX(revision) AS revision FROM deployment_revisions WHERE name = ?').get(name) as { revision: number | null }
    const revision = Math.max(previous.revision ?? 0, existing?.revision ?? 0) + 1
    if (existing) {
      this.sql.get('UPDATE deployments SET revision = ?, manifest = ?, updated_at = ? WHERE name = ?').run(revision, text, at, name)
    } else {
      this.sql.get('INSERT INTO deployments (name, revision, manifest, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(name, revision, text, at, at)
    }
    this.sql
      .get('INSERT INTO deployment_revisions (name, revision, manifest, created_at, pins) VALUES (?, ?, ?, ?, ?)')
      .run(name, revision, text, at, samePins(pins, NO_PINS) ? null : canonicalJson(pins))
    return { outcome: existing ? 'configured' : 'created', revision }
  }

  /** Marks one revision as applied with --pull-now (that revision only: the next one pulls by the rules again). */
  allowPullNow(name: string, revision: number): void {
    this.sql.get('UPDATE deployment_revisions SET pull_now = 1 WHERE name = ? AND revision = ?').run(name, revision)
  }

  /** A new revision of the same manifest with new pins: a Config or Secret it uses changed. */
  repin(name: string, pins: RevisionPins, at: string): number | null {
    const existing = this.sql.get('SELECT manifest FROM deployments WHERE name = ?').get(name) as { manifest: string } | undefined
    if (!existing) return null
    return this.apply(JSON.parse(existing.manifest) as Deployment, at, pins).revision
  }

  /** The pins of one revision; none for a revision from before Configs or one that is gone. */
  pins(name: string, revision: number): RevisionPins {
    const row = this.sql.get('SELECT pins FROM deployment_revisions WHERE name = ? AND revision = ?').get(name, revision) as { pins: string | null } | undefined
    return pinsOf(row?.pins ?? null)
  }

  /** One revision's template and pins, or null when it was never made or has been pruned. */
  revisionContent(name: string, revision: number): RevisionContent | null {
    const row = this.sql.get('SELECT manifest, pins, pull_now FROM deployment_revisions WHERE name = ? AND revision = ?').get(name, revision) as
      | { manifest: string; pins: string | null; pull_now: number }
      | undefined
    return row
      ? { template: (JSON.parse(row.manifest) as Deployment).spec.template, pins: pinsOf(row.pins), ...(row.pull_now === 1 ? { pullNow: true } : {}) }
      : null
  }

  /** Every kept revision's pins, for pruning the object versions no revision needs. */
  allPins(): RevisionPins[] {
    const rows = this.sql.get('SELECT pins FROM deployment_revisions WHERE pins IS NOT NULL').all() as { pins: string }[]
    return rows.map((row) => pinsOf(row.pins))
  }

  /** The deployment's kept revisions, newest first. */
  revisions(name: string): RevisionRecord[] {
    const rows = this.sql.get('SELECT revision, manifest, pins, created_at FROM deployment_revisions WHERE name = ? ORDER BY revision DESC').all(name) as {
      revision: number
      manifest: string
      pins: string | null
      created_at: string
    }[]
    return rows.map((row) => ({
      revision: row.revision,
      template: (JSON.parse(row.manifest) as Deployment).spec.template,
      pins: pinsOf(row.pins),
      createdAt: row.created_at,
    }))
  }

  /** One revision's template, or null when it was never made or has been pruned. */
  template(name: string, revision: number): WorkloadTemplate | null {
    const row = this.sql.get('SELECT manifest FROM deployment_revisions WHERE name = ? AND revision = ?').get(name, revision) as
      | { manifest: string }
      | undefined
    return row ? (JSON.parse(row.manifest) as Deployment).spec.template : null
  }

  /** Drops all but the newest `keep` revisions, never one in `inUse` (still running, or the rollback target). */
  pruneRevisions(name: string, keep: number, inUse: ReadonlySet<number>): number {
    const old = this.sql.get('SELECT revision FROM deployment_revisions WHERE name = ? ORDER BY revision DESC LIMIT -1 OFFSET ?').all(name, keep) as {
      revision: number
    }[]
    const remove = this.sql.get('DELETE FROM deployment_revisions WHERE name = ? AND revision = ?')
    let removed = 0
    for (const { revision } of old) if (!inUse.has(revision)) removed += remove.run(name, revision).changes
    return removed
  }

  delete(name: string): boolean {
    return this.sql.get('DELETE FROM deployments WHERE name = ?').run(name).changes > 0
  }

  placements(): PlacementRecord[] {
    const rows = this.sql
      .get('SELECT node_id, workload, deployment, replica, revision, ready_since, created_at FROM placements ORDER BY deployment, node_id, workload')
      .all() as {
      node_id: string
      workload: string
      deployment: string
      replica: number
      revision: number | null
      ready_since: number | null
      created_at: string
    }[]
    return rows.map((row) => ({
      nodeId: row.node_id,
      workload: row.workload,
      deployment: row.deployment,
      replica: row.replica,
      revision: row.revision,
      readySince: row.ready_since,
      createdAt: row.created_at,
    }))
  }

  /**
   * Replaces the placement table with the scheduler's answer, keeping creation times of placements
   * that stay. A revision or ready time given updates the row in place; one left out is kept.
   */
  replacePlacements(next: readonly PlacementUpdate[], at: string): { added: number; removed: number } {
    const current = new Map(this.placements().map((p) => [`${p.nodeId}/${p.workload}`, p]))
    const wanted = new Map(next.map((p) => [`${p.nodeId}/${p.workload}`, p]))
    let added = 0
    let removed = 0
    const remove = this.sql.get('DELETE FROM placements WHERE node_id = ? AND workload = ?')
    const insert = this.sql.get(
      'INSERT INTO placements (node_id, workload, deployment, replica, revision, ready_since, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    const update = this.sql.get('UPDATE placements SET revision = ?, ready_since = ? WHERE node_id = ? AND workload = ?')
    for (const [key, placement] of current) {
      const keep = wanted.get(key)
      if (!keep || keep.deployment !== placement.deployment || keep.replica !== placement.replica) {
        remove.run(placement.nodeId, placement.workload)
        removed++
        if (keep) {
          insert.run(keep.nodeId, keep.workload, keep.deployment, keep.replica, keep.revision ?? null, keep.readySince ?? null, at)
          added++
        }
        continue
      }
      const revision = keep.revision === undefined ? placement.revision : keep.revision
      const readySince = keep.readySince === undefined ? placement.readySince : keep.readySince
      if (revision !== placement.revision || readySince !== placement.readySince) update.run(revision, readySince, placement.nodeId, placement.workload)
    }
    for (const [key, placement] of wanted) {
      if (!current.has(key)) {
        insert.run(placement.nodeId, placement.workload, placement.deployment, placement.replica, placement.revision ?? null, placement.readySince ?? null, at)
        added++
      }
    }
    return { added, removed }
  }
}
