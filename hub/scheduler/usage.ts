import type { Amounts, SchedulerNode } from './types.js'

export const NOTHING: Amounts = { cpuMillis: 0, memoryBytes: 0, gpus: 0 }

export function plus(a: Amounts, b: Amounts): Amounts {
  return { cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes, gpus: a.gpus + b.gpus }
}

export function minus(a: Amounts, b: Amounts): Amounts {
  return { cpuMillis: a.cpuMillis - b.cpuMillis, memoryBytes: a.memoryBytes - b.memoryBytes, gpus: a.gpus - b.gpus }
}

/** What a node can give to workloads at all: capacity minus its profile's reservation. */
export function allocatable(node: SchedulerNode): Amounts {
  return {
    cpuMillis: node.capacity.cpuMillis - node.reserved.cpuMillis,
    memoryBytes: node.capacity.memoryBytes - node.reserved.memoryBytes,
    gpus: node.capacity.gpus,
  }
}

/** What is left on a node once `used` is taken from its allocatable amounts (may be negative). */
export function freeOn(node: SchedulerNode, used: Amounts): Amounts {
  return minus(allocatable(node), used)
}

/** What the placements of one scheduling pass use on each node, updated as the pass places and removes. */
export class UsageLedger {
  private readonly used = new Map<string, Amounts>()

  of(nodeId: string): Amounts {
    return this.used.get(nodeId) ?? NOTHING
  }

  add(nodeId: string, amounts: Amounts): void {
    this.used.set(nodeId, plus(this.of(nodeId), amounts))
  }

  remove(nodeId: string, amounts: Amounts): void {
    this.used.set(nodeId, minus(this.of(nodeId), amounts))
  }
}
