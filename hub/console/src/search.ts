// What the one search box of a list page does with what was typed: a label selector when it looks
// like one (an operator, a set expression or a negation), else free text matched against names and
// labels. Pure, so it is unit tested without a browser.

export type SearchIntent =
  | { readonly kind: 'empty' }
  | { readonly kind: 'selector'; readonly selector: string }
  | { readonly kind: 'text'; readonly text: string }

// `k=v`, `k==v`, `k!=v`, `k in (...)`, `k notin (...)`, and `!k` (no such label) are the selector
// grammar's own marks; a bare word is far more often a name than an existence test.
const SELECTOR_MARK = /[=!]|\s(in|notin)\s*\(/

export function classifySearch(input: string): SearchIntent {
  const text = input.trim()
  if (text === '') return { kind: 'empty' }
  return SELECTOR_MARK.test(text) ? { kind: 'selector', selector: text } : { kind: 'text', text }
}

/**
 * Free text finds a row whose name, or one of whose label keys or values, contains it, ignoring
 * case: an exact name, a prefix and a fragment all find it, and `gpu` finds the nodes labelled gpu.
 */
export function textMatches(text: string, name: string, labels: Readonly<Record<string, string>> = {}): boolean {
  const needle = text.toLowerCase()
  if (name.toLowerCase().includes(needle)) return true
  return Object.entries(labels).some(([key, value]) => key.toLowerCase().includes(needle) || value.toLowerCase().includes(needle))
}

/** The words beside the box that say what it did with the text. */
export function searchHint(intent: SearchIntent, noun: string): string {
  switch (intent.kind) {
    case 'empty':
      return `a ${noun} name, a label value, or a label selector such as site=factory-7`
    case 'text':
      return `${noun}s whose name or labels contain “${intent.text}”`
    case 'selector':
      return `label selector ${intent.selector}`
  }
}
