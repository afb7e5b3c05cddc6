import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import type { DesiredDocument } from '../../protocol/index.js'

export interface StoredDocument {
  readonly nodeId: string
  readonly generation: number
  readonly contentHash: string
  readonly document: DesiredDocument
}

export interface DocumentHead {
  readonly generation: number
  readonly contentHash: string
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

  /** The node's current generation, null before its first document. */
  generation(nodeId: string): number | null {
    const row = this.sql.get('SELECT generation FROM desired_documents WHERE node_id = ?').get(nodeId) as { generation: number } | undefined
    return row?.generation ?? null
  }

  /** Every node's current generation and content hash, without reading the documents. */
  heads(): Map<string, DocumentHead> {
    const rows = this.sql.get('SELECT node_id, generation, content_hash FROM desired_documents').all() as {
      node_id: string
      generation: number
      content_hash: string
    }[]
    return new Map(rows.map((row) => [row.node_id, { generation: row.generation, contentHash: row.content_hash }]))
  }

  list(): StoredDocument[] {
    const rows = this.sql.get('SELECT node_id, generation, content_hash, body FROM desired_documents ORDER BY node_id').all() as {
      node_id: string
      generation: number
      content_hash: string
      body: string
    }[]
    return rows.map((row) => ({
      nodeId: row.node_id,
      generation: row.generation,
      contentHash: row.content_hash,
      document: JSON.parse(row.body) as DesiredDocument,
    }))
  }

  save(document: DesiredDocument, contentHash: string): void {
    const current = this.generation(document.nodeId)
    if (current !== null && current >= document.generation) {
      throw new Error(`generation for ${document.nodeId} would go backwards (${current} → ${document.generation})`)
    }
    this.sql
      .get(
        `INSERT INTO desired_documents (node_id, generation, content_hash, body, issued_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (node_id) DO UPDATE SET generation = excluded.generation, content_hash = excluded.content_hash, body = excluded.body, issued_at = excluded.issued_at`,
      )
      .run(document.nodeId, document.generation, contentHash, JSON.stringify(document), document.issuedAt)
  }
}
