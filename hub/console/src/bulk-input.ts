// What the bulk action bar sends for what was typed: `key=value` pairs to set, bare keys to
// remove. Only the shape is read here; the hub checks keys and values and answers 400 naming
// the bad one. Pure, so it is unit tested without a browser.
import type { BulkNodeAction, BulkNodeRequest } from '../../../protocol/api/index.js'

export type BulkChoice = { readonly request: BulkNodeRequest } | { readonly problem: string }

const words = (text: string): string[] => text.split(/[\s,]+/).filter((word) => word !== '')

/** The request for an action on these nodes, or what is wrong with the typed labels. */
export function bulkRequest(action: BulkNodeAction, nodes: readonly string[], text: string): BulkChoice {
  if (nodes.length === 0) return { problem: 'select at least one node' }
  const base = { nodes: [...nodes] }
  switch (action) {
    case 'label': {
      const labels: Record<string, string> = {}
      for (const word of words(text)) {
        const eq = word.indexOf('=')
        if (eq <= 0) return { problem: `"${word}" is not key=value` }
        const key = word.slice(0, eq)
        if (key in labels) return { problem: `${key} is given twice` }
        labels[key] = word.slice(eq + 1)
      }
      if (Object.keys(labels).length === 0) return { problem: 'type the labels to set, as key=value' }
      return { request: { ...base, action, labels } }
    }
    case 'unlabel': {
      const keys = words(text).map((word) => word.replace(/-$/, ''))
      if (keys.some((key) => key.includes('='))) return { problem: 'type only the keys to remove, without values' }
      if (keys.length === 0) return { problem: 'type the label keys to remove' }
      return { request: { ...base, action, keys: [...new Set(keys)] } }
    }
    case 'cordon':
    case 'uncordon':
    case 'drain':
      return { request: { ...base, action } }
    default: {
      const unreachable: never = action
      return unreachable
    }
  }
}

/** The deployments a dry run says would have copies moved, started or stopped, sorted. */
export function movingDeployments(moves: readonly { readonly deployment: string }[]): string[] {
  return [...new Set(moves.map((m) => m.deployment))].sort()
}
