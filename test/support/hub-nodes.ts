// A node row as enrollment would insert it, for tests that need nodes in a hub store without
// enrolling real agents. Defaults describe a small amd64 machine; tests override what matters.
import type { NodeRecord, NodeRepository } from '../../hub/store/node-repository.js'

export type NewNode = Parameters<NodeRepository['insert']>[0]

export function nodeRecord(id: string, overrides: Partial<NewNode> = {}): NewNode {
  return {
    id,
    labels: {},
    capabilities: [],
    arch: 'amd64',
    profile: 'generic-amd64',
    inventory: {} as NodeRecord['inventory'],
    capacity: { cpuMillis: 4000, memoryBytes: 8 * 2 ** 30, gpus: 0 },
    reserved: { cpuMillis: 0, memoryBytes: 0 },
    heartbeatIntervalMs: 15_000,
    createdAt: new Date(0).toISOString(),
    ...overrides,
  }
}
