import type { AgentStore } from '../store/agent-store.js'

/**
 * What the outbox's sender needs of a store: its epoch, the records waiting, and forgetting
 * those the hub acknowledged. The agent's SQLite store is one; the fleet simulator's in-memory
 * store (agent/simulator/) is another, so its nodes send through this same sender.
 */
export type OutboxStore = Pick<AgentStore, 'outboxEpoch' | 'pendingOutbox' | 'acknowledge'>

/** What appends to the outbox: records, and a notice after each append so the sender goes at once. */
export type OutboxAppender = Pick<AgentStore, 'enqueue' | 'onOutboxAppended' | 'outboxDepth'>
