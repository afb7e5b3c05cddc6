// A node as the hub's scheduler sees it, for the scheduler's unit tests. Defaults describe a
// small amd64 machine; tests override what matters.
import type { SchedulerNode } from '../../hub/scheduler/index.js'
import { DEFAULT_NODE_POLICY } from '../../protocol/node-policy.js'

export type SchedulerNodeOptions = Partial<Omit<SchedulerNode, 'id' | 'capacity' | 'reserved'>> & {
  capacity?: Partial<SchedulerNode['capacity']>
  reserved?: Partial<SchedulerNode['reserved']>
}

/** A node with 4 CPUs, 8 GiB, no GPU, no reservation, no devices, the default policy, online and uncordoned unless told otherwise. */
export function schedulerNode(id: string, options: SchedulerNodeOptions = {}): SchedulerNode {
  const { capacity, reserved, ...rest } = options
  return {
    id,
    labels: {},
    capabilities: [],
    arch: 'amd64',
    profile: 'generic-amd64',
    cordoned: false,
    online: true,
    offlineSince: null,
    devices: [],
    policy: DEFAULT_NODE_POLICY,
    ...rest,
    capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, gpus: 0, ...capacity },
    reserved: { cpuMillis: 0, memoryBytes: 0, ...reserved },
  }
}
