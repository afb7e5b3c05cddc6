import type { Logger } from 'pino'
import type { Clock } from '../../common/clock.js'
import { nodeEvent } from '../agent-events.js'
import type { OutboxEntry } from '../store/agent-store.js'
import { type BudgetState, budgetState } from './memory-plan.js'

/**
 * Compares the agent's resident memory with its profile's budget on each check. A change (over,
 * or back within) is logged and queued for the hub as an event; no change, nothing, so an idle
 * agent within its budget writes nothing.
 */
export class MemoryWatch {
  private state: BudgetState = 'within'

  constructor(
    private readonly options: {
      readonly nodeId: string
      readonly budgetBytes: number
      readonly profile: string
      readonly rss: () => number
      readonly clock: Clock
      readonly logger: Logger
      readonly store: { enqueue(entries: readonly OutboxEntry[]): void }
    },
  ) {}

  check(): void {
    const { nodeId, budgetBytes, profile, clock, logger, store } = this.options
    const rssBytes = this.options.rss()
    const next = budgetState(this.state, rssBytes, budgetBytes)
    if (next === this.state) return
    this.state = next
    const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`
    const event =
      next === 'over'
        ? nodeEvent(
            nodeId,
            clock,
            'MemoryOverBudget',
            'warning',
            `the agent uses ${mib(rssBytes)} of memory, over the ${mib(budgetBytes)} budget of profile ${profile}`,
          )
        : nodeEvent(
            nodeId,
            clock,
            'MemoryWithinBudget',
            'info',
            `the agent uses ${mib(rssBytes)} of memory, back within the ${mib(budgetBytes)} budget of profile ${profile}`,
          )
    const data = { rssBytes, budgetBytes, profile }
    if (next === 'over') logger.warn(data, event.message)
    else logger.info(data, event.message)
    store.enqueue([{ kind: 'event', body: { ...event, data } }])
  }
}
