/**
 * What a firmware profile's memory budget means for the agent, decided apart from the I/O that
 * applies it. The agent's resident memory is mostly the Node runtime and the code it loads
 * (docs/benchmarks.md, section 1); what it can size at run time is SQLite's page cache, and what
 * it can tell its operator is which V8 flags it was started without.
 */

/** The V8 flags that make the agent smallest (measured in docs/benchmarks.md); node must be started with them. */
export const LEAN_NODE_FLAGS = ['--lite-mode', '--max-semi-space-size=1'] as const

const KIB = 1024
const MIB = 1024 * KIB

export interface MemoryPlan {
  /** PRAGMA cache_size in KiB (SQLite's default is 2000 KiB per connection). */
  readonly sqliteCacheKiB: number
  /** The lean flags this process lacks, when a budget is tight enough for them to matter. */
  readonly missingNodeFlags: readonly string[]
}

/**
 * SQLite's page cache shrinks with the budget: the agent's database is a few hundred KB, so a
 * small cache costs a re-read from the OS page cache now and then, nothing more. Without a budget,
 * SQLite's default.
 */
export function memoryPlan(budgetBytes: number | null, execArgv: readonly string[], nodeOptions: string | undefined): MemoryPlan {
  const sqliteCacheKiB = budgetBytes === null ? 2000 : budgetBytes <= 64 * MIB ? 256 : budgetBytes <= 128 * MIB ? 1024 : 2000
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((flag) => flag.replace(/_/g, '-').split('=')[0]))
  const missingNodeFlags = budgetBytes !== null && budgetBytes <= 128 * MIB ? LEAN_NODE_FLAGS.filter((flag) => !given.has(flag.split('=')[0] ?? flag)) : []
  return { sqliteCacheKiB, missingNodeFlags }
}

export type BudgetState = 'within' | 'over'

/**
 * Over the budget as soon as RSS passes it; back within only below 90% of it, so a process that
 * hovers at its budget does not report a change every minute.
 */
export function budgetState(previous: BudgetState, rssBytes: number, budgetBytes: number): BudgetState {
  if (rssBytes > budgetBytes) return 'over'
  if (previous === 'over' && rssBytes >= budgetBytes * 0.9) return 'over'
  return 'within'
}
