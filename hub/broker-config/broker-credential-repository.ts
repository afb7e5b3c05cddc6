import type { Database } from 'better-sqlite3'
import type { NodeBrokerUser } from './broker-users.js'
import type { BrokerHashes } from './password-hashes.js'

/**
 * Each node's broker password in the brokers' own hash formats (table `broker_credentials`,
 * migration 2), beside the scrypt hash the embedded broker checks. The hub never keeps the
 * plaintext, so these are what it writes into Mosquitto's and nats-server's user files.
 */
export class BrokerCredentialRepository {
  constructor(private readonly db: Database) {}

  set(nodeId: string, hashes: BrokerHashes): void {
    this.db
      .prepare('INSERT INTO broker_credentials (node_id, mosquitto_hash, nats_hash) VALUES (?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET mosquitto_hash = excluded.mosquitto_hash, nats_hash = excluded.nats_hash')
      .run(nodeId, hashes.mosquitto, hashes.nats)
  }

  /**
   * Every node that holds credentials now (revoked nodes have none), with its broker hashes;
   * `missing` lists nodes enrolled before the hub stored broker hashes, which have to enroll
   * again before an external broker lets them in.
   */
  users(): { users: NodeBrokerUser[]; missing: string[] } {
    const rows = this.db
      .prepare('SELECT c.node_id, c.username, b.mosquitto_hash, b.nats_hash FROM node_credentials c LEFT JOIN broker_credentials b ON b.node_id = c.node_id ORDER BY c.node_id')
      .all() as { node_id: string; username: string; mosquitto_hash: string | null; nats_hash: string | null }[]
    const users: NodeBrokerUser[] = []
    const missing: string[] = []
    for (const row of rows) {
      if (row.mosquitto_hash && row.nats_hash) users.push({ nodeId: row.node_id, username: row.username, hashes: { mosquitto: row.mosquitto_hash, nats: row.nats_hash } })
      else missing.push(row.node_id)
    }
    return { users, missing }
  }
}
