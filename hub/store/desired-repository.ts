import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import type { DesiredDocument } from '../../protocol/index.js'

export interface StoredDocument {
  readonly nodeId: string
  readonly generation: number
  readonly contentHash: string
  readonly document: DesiredDocument
}

/** The latest signed document per node. Generations only grow, also across hub restarts. */
export class DesiredRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  get(nodeId: string): StoredDocument | null {
    const row = this.sql.get('SELECT node_id, generation, content_hash, body FROM desired_documents WHERE node_id = ?').get(nodeId) as
      | { node_id: string; generation: number; content_hash: string; body: string }
      | undefined
    return row ? { nodeId: row.node_id, generation: row.generation, contentHash: row.content_hash, document: JSON.parse(row.body) as DesiredDocument } : null
  }

  list(): StoredDocument[] {
    const rows = this.sql.get('SELECT node_id, generation, content_hash, body FROM desired_documents ORDER BY node_id').all() as {
      node_id: string
      generation: number
      content_hash: string
      body: string
    }[]
    return rows.map((row) => ({ nodeId: row.node_id, generation: row.generation, contentHash: row.content_hash, document: JSON.parse(row.body) as DesiredDocument }))
  }

  save(document: DesiredDocument, contentHash: string): void {
    const current = this.get(document.nodeId)
    if (current && current.generation >= document.generation) {
      throw new Error(`generation for ${document.nodeId} would go backwards (${current.generation} → ${document.generation})`)
    }
    this.sql
      .get(
        `INSERT INTO desired_documents (node_id, generation, content_hash, body, issued_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (node_id) DO UPDATE SET generation = excluded.generation, content_hash = excluded.content_hash, body = excluded.body, issued_at = excluded.issued_at`,
      )
      .run(document.nodeId, document.generation, contentHash, JSON.stringify(document), document.issuedAt)
  }
}
