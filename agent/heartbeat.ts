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
 * A figure in steps of `step`, held at the one reported last while the reading stays within one
 * step of it: a reading that wavers across a step's edge, or noise smaller than a step, reports
 * nothing new. Pure.
 */
export function steady(reading: number, step: number, reported: number | null): number {
  if (reported !== null && Math.abs(reading - reported) <= step) return reported
  return Math.round(reading / step) * step
}

/**
 * Rounds the noisy figures so that an idle node reports the same numbers beat after beat, and a
 * heartbeat delta carries nothing (protocol/heartbeat-delta.ts): CPU in 5% steps, used memory
 * and disk in hundredths of their totals, each held while it stays within a step of what was
 * reported before (`previous`), uptime in whole seconds. What `shoal top` shows needs no finer
 * grain. Pure.
 */
export function roundFigures(heartbeat: Heartbeat, previous: Heartbeat | null = null): Heartbeat {
  const usage = (figure: { usedBytes: number; totalBytes: number }, before: { usedBytes: number; totalBytes: number } | null | undefined) => {
    const step = Math.max(1, Math.floor(figure.totalBytes / USAGE_STEPS))
    const held = before && before.totalBytes === figure.totalBytes ? before.usedBytes : null
    return { usedBytes: Math.min(figure.totalBytes, steady(figure.usedBytes, step, held)), totalBytes: figure.totalBytes }
  }
  return {
    ...heartbeat,
    uptimeSeconds: Math.round(heartbeat.uptimeSeconds),
    cpuPercent: heartbeat.cpuPercent === null ? null : steady(heartbeat.cpuPercent, CPU_STEP_PERCENT, previous?.cpuPercent ?? null),
    memory: usage(heartbeat.memory, previous?.memory),
    disk: heartbeat.disk === null ? null : usage(heartbeat.disk, previous?.disk),
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
  private reported: Heartbeat | null = null

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
    this.reported = roundFigures(
      {
        nodeId: this.nodeId,
        at: isoNow(this.clock),
        uptimeSeconds: uptime(),
        observedGeneration: extra.observedGeneration,
        outboxDepth: extra.outboxDepth,
        cpuPercent,
        memory: { usedBytes: totalmem() - freemem(), totalBytes: totalmem() },
        disk,
        workloads: { running: extra.running, total: extra.total },
      },
      this.reported,
    )
    return this.reported
  }
}
