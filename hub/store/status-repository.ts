import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import { hubSince } from '../ingest/clock-offset.js'
import {
  LEGACY_EPOCH,
  dedupeBatch,
  type NodeEvent,
  type NodeStatus,
  type ContainerStatus,
  type LocalRevert,
  type OutboxRecord,
  type PrefetchStatus,
  type WorkloadStatus,
} from '../../protocol/index.js'

export interface IngestResult {
  readonly applied: number
  readonly duplicates: number
  /** Everything up to here is stored: the cumulative ack to send. */
  readonly ackSeq: number
}

export interface WorkloadStatusRecord extends WorkloadStatus {
  readonly nodeId: string
  /** When the hub received the status (hub time). */
  readonly reportedAt: string
  /** When this state began on the hub's clock (`since` is the node's own; see hubSince). */
  readonly hubSince: string
}

/** What the hub knows of a node's clock when its statuses arrive: to put their times on its own. */
export interface NodeClockFacts {
  /** The node's clock minus the hub's (ms), or null when not measured yet. */
  readonly offsetMs: number | null
  readonly enrolledAt: string
  readonly toleranceMs: number
}

export interface EventRecord extends Omit<NodeEvent, 'nodeId'> {
  readonly id: number
  readonly nodeId: string | null
  /** The agent's outbox seq it arrived with; null for events the hub recorded itself. */
  readonly seq: number | null
  readonly receivedAt: string
}

/** Agents' reports: deduplicated by (node, epoch, seq), applied in one transaction per batch. */
export class StatusRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  /**
   * Must run inside the caller's transaction. Records at or below the last seq stored for this
   * (node, epoch) are duplicates; each epoch has its own high-water mark (see dedupeBatch).
   */
  ingest(
    nodeId: string,
    epoch: string,
    records: readonly OutboxRecord[],
    receivedAt: string,
    clock: NodeClockFacts | null = null,
  ): IngestResult & { statuses: NodeStatus[]; events: Array<NodeEvent & { id: number }> } {
    const { fresh, duplicates, ackSeq } = dedupeBatch(records, this.lastSeq(nodeId, epoch))
    const statuses: NodeStatus[] = []
    const events: Array<NodeEvent & { id: number }> = []
    for (const record of fresh) {
      if (record.kind === 'status') {
        this.applyStatus(nodeId, record.body, receivedAt, clock)
        statuses.push(record.body)
      } else {
        const id = this.appendEvent({ ...record.body, nodeId }, receivedAt, record.seq)
        events.push({ ...record.body, id })
      }
    }
    this.sql
      .get('INSERT INTO node_epoch_seq (node_id, epoch, last_seq) VALUES (?, ?, ?) ON CONFLICT (node_id, epoch) DO UPDATE SET last_seq = excluded.last_seq')
      .run(nodeId, epoch, ackSeq)
    return { applied: fresh.length, duplicates, ackSeq, statuses, events }
  }

  /**
   * A revoked node's dedupe state and workload status go with it: if the device enrolls again
   * under the same id, its outbox must not be judged against the old one's. Events stay, as history.
   */
  forgetNode(nodeId: string): void {
    this.sql.get('DELETE FROM node_epoch_seq WHERE node_id = ?').run(nodeId)
    this.sql.get('DELETE FROM workload_status WHERE node_id = ?').run(nodeId)
  }

  /** The highest seq stored for this node's epoch (legacy epoch by default); 0 for none. */
  lastSeq(nodeId: string, epoch: string = LEGACY_EPOCH): number {
    const row = this.sql.get('SELECT last_seq FROM node_epoch_seq WHERE node_id = ? AND epoch = ?').get(nodeId, epoch) as { last_seq: number } | undefined
    return row?.last_seq ?? 0
  }

  private applyStatus(nodeId: string, status: NodeStatus, receivedAt: string, clock: NodeClockFacts | null): void {
    const previous = new Map(
      (
        this.sql.get('SELECT workload, since, hub_since FROM workload_status WHERE node_id = ?').all(nodeId) as {
          workload: string
          since: string
          hub_since: string | null
        }[]
      ).map((r) => [r.workload, { since: r.since, hubSince: r.hub_since ?? r.since }]),
    )
    const names = status.workloads.map((w) => w.name)
    this.sql.get(`DELETE FROM workload_status WHERE node_id = ? AND workload NOT IN (SELECT value FROM json_each(?))`).run(nodeId, JSON.stringify(names))
    const upsert = this.sql.get(
      `INSERT INTO workload_status (node_id, workload, deployment, revision, state, health, ready, restarts, exit_code, message, container_id, since, hub_since, reported_at, revert, object_versions, containers, prefetch, last_log_lines)
       VALUES (@nodeId, @name, @deployment, @revision, @state, @health, @ready, @restarts, @exitCode, @message, @containerId, @since, @hubSince, @reportedAt, @revert, @objectVersions, @containers, @prefetch, @lastLogLines)
       ON CONFLICT (node_id, workload) DO UPDATE SET deployment = excluded.deployment, revision = excluded.revision, state = excluded.state,
         health = excluded.health, ready = excluded.ready, restarts = excluded.restarts, exit_code = excluded.exit_code, message = excluded.message,
         container_id = excluded.container_id, since = excluded.since, hub_since = excluded.hub_since, reported_at = excluded.reported_at, revert = excluded.revert,
         object_versions = excluded.object_versions, containers = excluded.containers, prefetch = excluded.prefetch, last_log_lines = excluded.last_log_lines`,
    )
    for (const w of status.workloads) {
      const onHub = hubSince({
        since: w.since,
        statusAt: status.at,
        receivedAt,
        offsetMs: clock?.offsetMs ?? null,
        enrolledAt: clock?.enrolledAt ?? receivedAt,
        toleranceMs: clock?.toleranceMs ?? 0,
        previous: previous.get(w.name),
      })
      upsert.run({
        nodeId,
        name: w.name,
        deployment: w.deployment,
        revision: w.revision,
        state: w.state,
        health: w.health,
        ready: w.ready === undefined ? null : w.ready ? 1 : 0,
        restarts: w.restarts,
        exitCode: w.exitCode ?? null,
        message: w.message ?? null,
        containerId: w.containerId ?? null,
        since: w.since,
        hubSince: onHub,
        reportedAt: receivedAt,
        revert: w.revert ? JSON.stringify(w.revert) : null,
        objectVersions: w.configVersions || w.secretVersions ? JSON.stringify({ configVersions: w.configVersions, secretVersions: w.secretVersions }) : null,
        containers: w.containers ? JSON.stringify(w.containers) : null,
        prefetch: w.prefetch ? JSON.stringify(w.prefetch) : null,
        lastLogLines: w.lastLogLines ? JSON.stringify(w.lastLogLines) : null,
      })
    }
    this.sql.get('UPDATE nodes SET observed_generation = MAX(observed_generation, ?) WHERE id = ?').run(status.observedGeneration, nodeId)
  }

  appendEvent(event: Omit<NodeEvent, 'nodeId'> & { nodeId: string | null }, receivedAt: string, seq: number | null = null): number {
    return Number(
      this.sql
        .get('INSERT INTO events (node_id, seq, type, severity, workload, message, data, at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(
          event.nodeId,
          seq,
          event.type,
          event.severity,
          event.workload ?? null,
          event.message,
          event.data ? JSON.stringify(event.data) : null,
          event.at,
          receivedAt,
        ).lastInsertRowid,
    )
  }

  workloads(filter: { nodeId?: string; deployment?: string } = {}): WorkloadStatusRecord[] {
    const rows = this.sql
      .get(
        `SELECT * FROM workload_status WHERE (@nodeId IS NULL OR node_id = @nodeId) AND (@deployment IS NULL OR deployment = @deployment) ORDER BY node_id, workload`,
      )
      .all({ nodeId: filter.nodeId ?? null, deployment: filter.deployment ?? null }) as {
      node_id: string
      workload: string
      deployment: string
      revision: number
      state: WorkloadStatus['state']
      health: WorkloadStatus['health']
      ready: number | null
      restarts: number
      exit_code: number | null
      message: string | null
      container_id: string | null
      since: string
      hub_since: string | null
      reported_at: string
      revert: string | null
      object_versions: string | null
      containers: string | null
      prefetch: string | null
      last_log_lines: string | null
    }[]
    return rows.map((r) => ({
      nodeId: r.node_id,
      name: r.workload,
      deployment: r.deployment,
      revision: r.revision,
      state: r.state,
      health: r.health,
      ...(r.ready !== null ? { ready: r.ready === 1 } : {}),
      restarts: r.restarts,
      ...(r.exit_code !== null ? { exitCode: r.exit_code } : {}),
      ...(r.message !== null ? { message: r.message } : {}),
      ...(r.container_id !== null ? { containerId: r.container_id } : {}),
      since: r.since,
      ...(r.revert !== null ? { revert: JSON.parse(r.revert) as LocalRevert } : {}),
      ...(r.object_versions !== null ? (JSON.parse(r.object_versions) as Pick<WorkloadStatus, 'configVersions' | 'secretVersions'>) : {}),
      ...(r.containers !== null ? { containers: JSON.parse(r.containers) as ContainerStatus[] } : {}),
      ...(r.prefetch !== null ? { prefetch: JSON.parse(r.prefetch) as PrefetchStatus } : {}),
      ...(r.last_log_lines !== null ? { lastLogLines: JSON.parse(r.last_log_lines) as string[] } : {}),
      reportedAt: r.reported_at,
      hubSince: r.hub_since ?? r.since,
    }))
  }

  /**
   * Oldest first. With `sinceId`, the first `limit` events after it (a feed to page through);
   * without, the latest `limit` events.
   */
  events(filter: { sinceId?: number; nodeId?: string; limit?: number } = {}): EventRecord[] {
    const order = filter.sinceId === undefined ? 'DESC' : 'ASC'
    const rows = this.sql
      .get(`SELECT * FROM events WHERE id > @since AND (@nodeId IS NULL OR node_id = @nodeId) ORDER BY id ${order} LIMIT @limit`)
      .all({ since: filter.sinceId ?? 0, nodeId: filter.nodeId ?? null, limit: filter.limit ?? 200 }) as {
      id: number
      node_id: string | null
      seq: number | null
      type: string
      severity: NodeEvent['severity']
      workload: string | null
      message: string
      data: string | null
      at: string
      received_at: string
    }[]
    return (order === 'DESC' ? rows.reverse() : rows).map((r) => ({
      id: r.id,
      nodeId: r.node_id,
      seq: r.seq,
      type: r.type,
      severity: r.severity,
      ...(r.workload ? { workload: r.workload } : {}),
      message: r.message,
      ...(r.data ? { data: JSON.parse(r.data) as NodeEvent['data'] } : {}),
      at: r.at,
      receivedAt: r.received_at,
    }))
  }
}
