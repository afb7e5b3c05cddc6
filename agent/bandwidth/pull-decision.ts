import { nextMonthStart, zoneLabel } from './local-time.js'
import { inPullWindow, nextPullWindow } from './pull-windows.js'

/** The bandwidth rules in force on a node, resolved (bandwidth-rules.ts); null: no such limit. */
export interface PullRules {
  readonly budgetBytes: number | null
  readonly windows: readonly string[] | null
  /** Links pulls may use, and the link the node is on now (null: unknown). */
  readonly links: readonly string[] | null
  readonly link: string | null
}

export interface PullQuestion {
  /** Wall time, epoch ms: windows and months are the node's local calendar. */
  readonly now: number
  readonly zone: string
  readonly rules: PullRules
  /** Bytes counted this calendar month, every category. */
  readonly usedBytes: number
  /** What the pull will likely cost (an earlier version of the image); null when unknown. */
  readonly expectedBytes: number | null
  /** The revision was applied with --pull-now. */
  readonly override: boolean
}

export type DeferCause = 'budget' | 'window' | 'link'

export type PullVerdict =
  | { readonly allow: true; readonly overridden: boolean }
  | {
      readonly allow: false
      readonly causes: readonly DeferCause[]
      /** One phrase per cause, joined for the workload's message. */
      readonly reason: string
      /** When to try again (epoch ms); null when no time helps (the link, or an image larger than the whole budget). */
      readonly nextAttemptAt: number | null
    }

/**
 * May this image pull start now? Every rule must allow it: the month's bytes plus the image's
 * expected size within the budget, the local time inside a window, the node's link among those
 * allowed. A deferred pull says each reason and the first time they all could allow it. Pure.
 */
export function decidePull(question: PullQuestion): PullVerdict {
  const { now, zone, rules, usedBytes, expectedBytes } = question
  const wouldBreak = rules.budgetBytes !== null && (usedBytes >= rules.budgetBytes || (expectedBytes !== null && usedBytes + expectedBytes > rules.budgetBytes))
  const broken = wouldBreak || (rules.windows !== null && !inPullWindow(now, rules.windows, zone)) || linkRefused(rules)
  if (question.override) return { allow: true, overridden: broken }
  if (!broken) return { allow: true, overridden: false }
  const causes: DeferCause[] = []
  const reasons: string[] = []
  let earliest: number | null = now
  if (wouldBreak && rules.budgetBytes !== null) {
    causes.push('budget')
    const budget = rules.budgetBytes
    if (expectedBytes !== null && expectedBytes > budget) {
      reasons.push(`the image (about ${formatBytes(expectedBytes)}) is larger than the whole monthly budget of ${formatBytes(budget)}`)
      earliest = null
    } else {
      const need = expectedBytes !== null ? `; the image needs about ${formatBytes(expectedBytes)}` : ''
      reasons.push(`monthly budget: ${formatBytes(usedBytes)} of ${formatBytes(budget)} used${need}`)
      earliest = nextMonthStart(now, zone)
    }
  }
  if (rules.windows !== null) {
    const opens = earliest === null ? null : nextPullWindow(earliest, rules.windows, zone)
    if (!inPullWindow(now, rules.windows, zone)) {
      causes.push('window')
      reasons.push(`outside the pull windows ${rules.windows.join(', ')} (${zoneLabel(zone)})`)
    }
    earliest = opens
  }
  if (linkRefused(rules)) {
    causes.push('link')
    reasons.push(`link is ${rules.link ?? 'unknown'}; pulls only over ${(rules.links ?? []).join(', ')}`)
    earliest = null
  }
  return { allow: false, causes, reason: reasons.join('; '), nextAttemptAt: earliest }
}

function linkRefused(rules: PullRules): boolean {
  return rules.links !== null && (rules.link === null || !rules.links.includes(rules.link))
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const

/** 1536 → "1.5 KiB": binary units, one decimal above bytes. */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}
