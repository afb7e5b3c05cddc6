// The labels an operator chose for the nodes table, kept in this browser's localStorage.
const KEY = 'shoal.nodeLabelColumns'

/** The keys chosen in this browser; null: none chosen (the default order). */
export function loadChosenLabels(): string[] | null {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(KEY) ?? 'null')
    return Array.isArray(value) && value.every((key) => typeof key === 'string') ? value : null
  } catch {
    return null
  }
}

export function saveChosenLabels(keys: readonly string[] | null): void {
  try {
    if (keys === null) localStorage.removeItem(KEY)
    else localStorage.setItem(KEY, JSON.stringify(keys))
  } catch {
    // Storage refused (private mode, quota): the choice lasts until the page is left.
  }
}
