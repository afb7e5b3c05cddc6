import type { Logger } from 'pino'
import type { Clock } from '../../common/clock.js'
import { SimulatedNode, type NodeObserver } from './simulated-node.js'

export interface SimulatedFleetOptions {
  readonly hubUrl: string
  readonly token: string
  /** Node names are `<prefix>-<index>`, the index from `firstIndex`. */
  readonly prefix: string
  readonly count: number
  readonly firstIndex?: number
  readonly labels: Readonly<Record<string, string>>
  /** Enrollments in flight at once (each then opens its link at once). */
  readonly enrollConcurrency: number
  readonly heartbeatIntervalMs: number
  readonly logger: Logger
  readonly clock?: Clock
  readonly observer?: NodeObserver
}

/** A node's name for its index: stable across runs, so a benchmark's names are readable. Pure. */
export function simulatedNodeName(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(5, '0')}`.slice(0, 63)
}

/**
 * Which nodes a churn round takes down: `fraction` of them (rounded, at least one when the
 * fraction is above zero), spread evenly over the fleet and shifted by `round`, so successive
 * rounds take other nodes. Pure.
 */
export function churnPick(count: number, fraction: number, round: number): number[] {
  if (count === 0 || fraction <= 0) return []
  const take = Math.min(count, Math.max(1, Math.round(count * Math.min(1, fraction))))
  const stride = count / take
  const picked = new Set<number>()
  for (let i = 0; i < take; i++) picked.add((Math.floor(i * stride) + round) % count)
  return [...picked].sort((a, b) => a - b)
}

/**
 * Many simulated nodes in this process: enrolled over the hub's HTTP API with a bounded number
 * in flight, each opening its own broker connection as soon as it has its identity.
 */
export class SimulatedFleet {
  readonly nodes: SimulatedNode[] = []
  private readonly abort = new AbortController()
  private churnRound = 0

  constructor(private readonly options: SimulatedFleetOptions) {}

  /** Enrolls and starts every node; resolves when all have their links opening. */
  async start(): Promise<void> {
    const { count, enrollConcurrency } = this.options
    const first = this.options.firstIndex ?? 0
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < count && !this.abort.signal.aborted) {
        const index = first + next++
        const node = await SimulatedNode.enroll({
          hubUrl: this.options.hubUrl,
          token: this.options.token,
          name: simulatedNodeName(this.options.prefix, index),
          labels: this.options.labels,
          logger: this.options.logger,
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
          signal: this.abort.signal,
          ...(this.options.clock ? { clock: this.options.clock } : {}),
          ...(this.options.observer ? { observer: this.options.observer } : {}),
        })
        this.nodes.push(node)
        await node.start()
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, Math.min(enrollConcurrency, count)) }, worker))
  }

  connectedCount(): number {
    return this.nodes.filter((node) => node.connected).length
  }

  /**
   * One churn round: `fraction` of the nodes close their links (with a goodbye) and open them
   * again after `downMs`, their stores kept. Resolves when all are reopening; returns their ids.
   */
  async churn(fraction: number, downMs: number): Promise<string[]> {
    const picked = churnPick(this.nodes.length, fraction, this.churnRound++)
      .map((index) => this.nodes[index])
      .filter((node) => node !== undefined)
    await Promise.all(picked.map((node) => node.stopLink()))
    await new Promise((resolve) => setTimeout(resolve, downMs))
    await Promise.all(picked.map((node) => node.start()))
    return picked.map((node) => node.nodeId)
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await Promise.allSettled(this.nodes.map((node) => node.stop()))
  }
}
