import { LINK_LABEL, MemoryQuantity, NodeBandwidth, PullWindow } from '../../protocol/index.js'

/**
 * The node labels that set a node's own bandwidth rules. Label values cannot hold ':' or ',', so
 * windows are written HHMM-HHMM and lists are joined with '_':
 *   shoal.io/monthly-budget=2Gi
 *   shoal.io/pull-windows=0100-0500_2200-0230
 *   shoal.io/pull-on-links=wired_wifi
 */
export const BANDWIDTH_LABELS = {
  monthlyBudget: 'shoal.io/monthly-budget',
  pullWindows: 'shoal.io/pull-windows',
  pullOnLinks: 'shoal.io/pull-on-links',
} as const

const LABEL_WINDOW = /^(\d{2})(\d{2})-(\d{2})(\d{2})$/

/** A label's value that does not read as what its key means. */
export interface BandwidthLabelProblem {
  readonly key: string
  readonly value: string
  readonly message: string
}

/**
 * What a node's labels say of its bandwidth, for its desired document: the rules its shoal.io/*
 * labels set and its `link` label. Undefined when they say nothing (the document then has no
 * `bandwidth`, and hashes as before). A malformed value sets nothing and is listed. Pure.
 */
export function bandwidthFromLabels(labels: Readonly<Record<string, string>>): { bandwidth: NodeBandwidth | undefined; problems: BandwidthLabelProblem[] } {
  const problems: BandwidthLabelProblem[] = []
  const draft: Record<string, unknown> = {}
  const budget = labels[BANDWIDTH_LABELS.monthlyBudget]
  if (budget !== undefined) {
    const parsed = MemoryQuantity.safeParse(budget)
    if (parsed.success) draft.monthlyBudget = parsed.data
    else problems.push({ key: BANDWIDTH_LABELS.monthlyBudget, value: budget, message: 'must be a byte quantity such as 2Gi or 500M' })
  }
  const windows = labels[BANDWIDTH_LABELS.pullWindows]
  if (windows !== undefined) {
    const list = windows.split('_').map(labelWindow)
    if (list.every((w): w is string => w !== null && PullWindow.safeParse(w).success)) draft.pullWindows = list
    else problems.push({ key: BANDWIDTH_LABELS.pullWindows, value: windows, message: 'must be HHMM-HHMM windows joined by _, such as 0100-0500_2200-0230' })
  }
  const links = labels[BANDWIDTH_LABELS.pullOnLinks]
  if (links !== undefined) {
    const list = links.split('_')
    if (list.every((link) => link !== '')) draft.pullOnLinks = list
    else problems.push({ key: BANDWIDTH_LABELS.pullOnLinks, value: links, message: 'must be link names joined by _, such as wired_wifi' })
  }
  const link = labels[LINK_LABEL]
  if (link !== undefined && link !== '') draft.link = link
  if (Object.keys(draft).length === 0) return { bandwidth: undefined, problems }
  const checked = NodeBandwidth.safeParse(draft)
  return checked.success
    ? { bandwidth: checked.data, problems }
    : { bandwidth: undefined, problems: [...problems, { key: 'shoal.io/*', value: '', message: checked.error.message }] }
}

/**
 * Labels that would set a bandwidth label to something it cannot mean; nothing was changed.
 * `subject` says whose: "node pi-17", "join token", "nodes pi-17, pi-18".
 */
export class BandwidthLabelsError extends Error {
  readonly code = 'bad-bandwidth-label'
  constructor(
    readonly subject: string,
    readonly problems: readonly BandwidthLabelProblem[],
  ) {
    super(`${subject}: ${problems.map((p) => `${p.key}=${p.value}: ${p.message}`).join('; ')}; no label was changed`)
    this.name = 'BandwidthLabelsError'
  }
}

/**
 * Refuses labels being set (`setting`) whose bandwidth meaning is malformed, once they are laid over
 * what the subject has (`after`). Only the keys being set count: a bad value set earlier must not
 * block other edits. Every place labels come in (a node patch, a bulk action, a join token) asks this.
 */
export function requireBandwidthLabels(subject: string, after: Readonly<Record<string, string>>, setting: Readonly<Record<string, unknown>>): void {
  const problems = bandwidthFromLabels(after).problems.filter((p) => setting[p.key] !== undefined && setting[p.key] !== null)
  if (problems.length > 0) throw new BandwidthLabelsError(subject, problems)
}

/** "0100-0500" → "01:00-05:00"; null when it is not HHMM-HHMM. */
function labelWindow(text: string): string | null {
  const match = LABEL_WINDOW.exec(text)
  return match ? `${match[1]}:${match[2]}-${match[3]}:${match[4]}` : null
}
