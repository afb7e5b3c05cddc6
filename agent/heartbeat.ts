import { statfs } from 'node:fs/promises'
import { cpus, freemem, totalmem, uptime } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import type { Heartbeat } from '../protocol/index.js'
import { isoNow, type Clock } from '../common/clock.js'

const FIRST_SAMPLE_WINDOW_MS = 250

/** CPU is reported in steps of this many percent, used memory and disk in hundredths of their totals. */
export const CPU_STEP_PERCENT = 5
export const USAGE_STEPS = 100

/**
 * Rounds the noisy figures so that an idle node reports the same numbers beat after beat: a
 * heartbeat delta then carries nothing (protocol/heartbeat-delta.ts). What `shoal top` shows
 * needs no finer grain than 5% CPU and 1% of memory and disk; uptime is whole seconds. Pure.
 */
export function roundFigures(heartbeat: Heartbeat): Heartbeat {
  const usage = (figure: { usedBytes: number; totalBytes: number }) => {
    const step = Math.max(1, Math.floor(figure.totalBytes / USAGE_STEPS))
    return { usedBytes: Math.min(figure.totalBytes, Math.round(figure.usedBytes / step) * step), totalBytes: figure.totalBytes }
  }
  return {
    ...heartbeat,
    uptimeSeconds: Math.round(heartbeat.uptimeSeconds),
    cpuPercent: heartbeat.cpuPercent === null ? null : Math.round(heartbeat.cpuPercent / CPU_STEP_PERCENT) * CPU_STEP_PERCENT,
    memory: usage(heartbeat.memory),
    disk: heartbeat.disk === null ? null : usage(heartbeat.disk),
  }
}

interface CpuTimes {
  readonly idle: number
  readonly total: number
}

function cpuTimes(): CpuTimes {
  let idle = 0
  let total = 0
  for (const cpu of cpus()) {
    idle += cpu.times.idle
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle
  }
  return { idle, total }
}

/**
 * Samples the few numbers a heartbeat carries from node:os and statfs: no shelling out, so a
 * heartbeat costs microseconds. CPU is a rate, so the first sample has none.
 */
export class HeartbeatSampler {
  private previous: CpuTimes | null = null

  constructor(
    private readonly nodeId: string,
    private readonly dataDir: string,
    private readonly clock: Clock,
  ) {}

  async sample(extra: { observedGeneration: number; outboxDepth: number; running: number; total: number }): Promise<Heartbeat> {
    if (!this.previous) {
      // A rate needs two readings: the first heartbeat (sent on connect) takes its own short
      // window rather than report no CPU until the next interval, which may be minutes away.
      this.previous = cpuTimes()
      await delay(FIRST_SAMPLE_WINDOW_MS)
    }
    const now = cpuTimes()
    const cpuPercent =
      this.previous && now.total > this.previous.total
        ? Math.min(100, Math.max(0, 100 * (1 - (now.idle - this.previous.idle) / (now.total - this.previous.total))))
        : null
    this.previous = now
    let disk: Heartbeat['disk'] = null
    try {
      const stats = await statfs(this.dataDir)
      disk = { usedBytes: (stats.blocks - stats.bfree) * stats.bsize, totalBytes: stats.blocks * stats.bsize }
    } catch {
      disk = null
    }
    return roundFigures({
      nodeId: this.nodeId,
      at: isoNow(this.clock),
      uptimeSeconds: uptime(),
      observedGeneration: extra.observedGeneration,
      outboxDepth: extra.outboxDepth,
      cpuPercent,
      memory: { usedBytes: totalmem() - freemem(), totalBytes: totalmem() },
      disk,
      workloads: { running: extra.running, total: extra.total },
    })
  }
}
