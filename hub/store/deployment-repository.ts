import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import { canonicalJson, type Deployment } from '../../protocol/index.js'

export interface DeploymentRecord {
  readonly name: string
  readonly revision: number
  readonly manifest: Deployment
  readonly createdAt: string
  readonly updatedAt: string
}

export interface PlacementRecord {
  readonly nodeId: string
  readonly workload: string
  readonly deployment: string
  readonly replica: number
  readonly createdAt: string
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged'

export class DeploymentRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  list(): DeploymentRecord[] {
    const rows = this.sql.get('SELECT name, revision, manifest, created_at, updated_at FROM deployments ORDER BY name').all() as {
      name: string
      revision: number
      manifest: string
      created_at: string
      updated_at: string
    }[]
    return rows.map((row) => ({ name: row.name, revision: row.revision, manifest: JSON.parse(row.manifest) as Deployment, createdAt: row.created_at, updatedAt: row.updated_at }))
  }

  get(name: string): DeploymentRecord | null {
    return this.list().find((d) => d.name === name) ?? null
  }

  /** Creates or updates by name; a new revision only when the manifest actually changed. */
  apply(manifest: Deployment, at: string): { outcome: ApplyOutcome; revision: number } {
    const existing = this.sql.get('SELECT revision, manifest FROM deployments WHERE name = ?').get(manifest.metadata.name) as { revision: number; manifest: string } | undefined
    const text = canonicalJson(manifest)
    if (existing && canonicalJson(JSON.parse(existing.manifest)) === text) return { outcome: 'unchanged', revision: existing.revision }
    const revision = (existing?.revision ?? 0) + 1
    if (existing) {
      this.sql.get('UPDATE deployments SET revision = ?, manifest = ?, updated_at = ? WHERE name = ?').run(revision, text, at, manifest.metadata.name)
    } else {
      const previous = this.sql.get('SELECT MAX(revision) AS revision FROM deployment_revisions WHERE name = ?').get(manifest.metadata.name) as { revision: number | null }
      const fresh = (previous.revision ?? 0) + 1
      this.sql.get('INSERT INTO deployments (name, revision, manifest, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(manifest.metadata.name, fresh, text, at, at)
      this.sql.get('INSERT INTO deployment_revisions (name, revision, manifest, created_at) VALUES (?, ?, ?, ?)').run(manifest.metadata.name, fresh, text, at)
      return { outcome: 'created', revision: fresh }
    }
    this.sql.get('INSERT INTO deployment_revisions (name, revision, manifest, created_at) VALUES (?, ?, ?, ?)').run(manifest.metadata.name, revision, text, at)
    return { outcome: 'configured', revision }
  }

  delete(name: string): boolean {
    return this.sql.get('DELETE FROM deployments WHERE name = ?').run(name).changes > 0
  }

  placements(): PlacementRecord[] {
    const rows = this.sql.get('SELECT node_id, workload, deployment, replica, created_at FROM placements ORDER BY deployment, node_id, workload').all() as {
      node_id: string
      workload: string
      deployment: string
      replica: number
      created_at: string
    }[]
    return rows.map((row) => ({ nodeId: row.node_id, workload: row.workload, deployment: row.deployment, replica: row.replica, createdAt: row.created_at }))
  }

  /** Replaces the placement table with the scheduler's answer, keeping creation times of placements that stay. */
  replacePlacements(next: readonly Omit<PlacementRecord, 'createdAt'>[], at: string): { added: number; removed: number } {
    const current = new Map(this.placements().map((p) => [`${p.nodeId}/${p.workload}`, p]))
    const wanted = new Map(next.map((p) => [`${p.nodeId}/${p.workload}`, p]))
    let added = 0
    let removed = 0
    const remove = this.sql.get('DELETE FROM placements WHERE node_id = ? AND workload = ?')
    const insert = this.sql.get('INSERT INTO placements (node_id, workload, deployment, replica, created_at) VALUES (?, ?, ?, ?, ?)')
    for (const [key, placement] of current) {
      const keep = wanted.get(key)
      if (!keep || keep.deployment !== placement.deployment || keep.replica !== placement.replica) {
        remove.run(placement.nodeId, placement.workload)
        removed++
        if (keep) {
          insert.run(keep.nodeId, keep.workload, keep.deployment, keep.replica, at)
          added++
        }
      }
    }
    for (const [key, placement] of wanted) {
      if (!current.has(key)) {
        insert.run(placement.nodeId, placement.workload, placement.deployment, placement.replica, at)
        added++
      }
    }
    return { added, removed }
  }
}
