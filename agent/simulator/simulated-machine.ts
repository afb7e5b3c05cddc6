import type { Heartbeat, Inventory } from '../../protocol/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { HeartbeatFigures } from '../hub-link/heartbeat-beat.js'
import { roundFigures } from '../heartbeat.js'

const GiB = 1024 ** 3

/**
 * A made-up inventory that passes the hub's schema: the simulator must not spend its CPU in
 * systeminformation (spawning shells per node), so the hub is what a benchmark measures. Pure.
 */
export function simulatedInventory(name: string): Inventory {
  return {
    hostname: name,
    arch: 'amd64',
    cpu: { model: 'simulated', cores: 4 },
    memoryBytes: 8 * GiB,
    disks: [{ mount: '/', sizeBytes: 64 * GiB }],
    os: { platform: 'linux', distro: 'simulated', release: '1', kernel: '6' },
    hardware: {},
    gpus: [],
    runtime: { name: 'docker', version: 'simulated' },
  }
}

/**
 * A simulated node's machine figures for its heartbeats: steady made-up load, memory and disk,
 * rounded by the agent's own roundFigures, so an idle simulated node sends the same deltas a
 * real idle one does. Costs no system call.
 */
export class SimulatedMachine {
  private reported: Heartbeat | null = null
  private readonly bootedAt: number

  constructor(
    private readonly nodeId: string,
    private readonly clock: Clock,
  ) {
    this.bootedAt = clock.now()
  }

  async sample(extra: HeartbeatFigures): Promise<Heartbeat> {
    this.reported = roundFigures(
      {
        nodeId: this.nodeId,
        at: isoNow(this.clock),
        uptimeSeconds: (this.clock.now() - this.bootedAt) / 1000,
        observedGeneration: extra.observedGeneration,
        outboxDepth: extra.outboxDepth,
        cpuPercent: 5,
        memory: { usedBytes: 2 * GiB, totalBytes: 8 * GiB },
        disk: { usedBytes: 16 * GiB, totalBytes: 64 * GiB },
        workloads: { running: extra.running, total: extra.total },
      },
      this.reported,
    )
    return this.reported
  }
}
