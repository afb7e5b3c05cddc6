import type { Database } from 'better-sqlite3'
import { Statements } from '../store/statements.js'
import type { BrokerKind, NodeBrokerUser } from './broker-users.js'
import type { BrokerHashes } from './password-hashes.js'

/**
 * Each node's broker password in the brokers' own hash formats (table `broker_credentials`,
 * migrations 2 and 3; bcrypt only for nodes enrolled on NATS), beside the hash the embedded
 * broker checks (CredentialRepository). The hub never keeps the plaintext, so these are what
 * it writes into Mosquitto's and nats-server's user files.
 */
export class BrokerCredentialRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  set(nodeId: string, hashes: BrokerHashes): void {
    this.sql
      .get(
        'INSERT INTO broker_credentials (node_id, mosquitto_hash, nats_hash) VALUES (?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET mosquitto_hash = excluded.mosquitto_hash, nats_hash = excluded.nats_hash',
      )
      .run(nodeId, hashes.mosquitto, hashes.nats)
  }

  /**
   * Every node that holds credentials now (revoked nodes have none) and a hash in `kind`'s
   * format; `missing` lists the others: nodes enrolled before the hub stored broker hashes, and
   * (for NATS) nodes enrolled while the hub's transport was not NATS. Both have to enroll again
   * before that broker lets them in.
   */
  users(kind: BrokerKind): { users: NodeBrokerUser[]; missing: string[] } {
    const rows = this.sql
      .get(
        'SELECT c.node_id, c.username, b.mosquitto_hash, b.nats_hash FROM node_credentials c LEFT JOIN broker_credentials b ON b.node_id = c.node_id ORDER BY c.node_id',
      )
      .all() as { node_id: string; username: string; mosquitto_hash: string | null; nats_hash: string | null }[]
    const users: NodeBrokerUser[] = []
    const missing: string[] = []
    for (const row of rows) {
      if (row.mosquitto_hash !== null && (kind === 'mosquitto' || row.nats_hash !== null))
        users.push({ nodeId: row.node_id, username: row.username, hashes: { mosquitto: row.mosquitto_hash, nats: row.nats_hash } })
      else missing.push(row.node_id)
    }
    return { users, missing }
  }
}
