/**
 * True when `candidate` should replace `current`. Generations only grow; an equal one is a
 * duplicate delivery and an older one a reordering, both harmless to ignore.
 */
export function isNewer(candidate: number, current: number | null | undefined): boolean {
  return current === null || current === undefined || candidate > current
}

export function nextGeneration(current: number | null | undefined): number {
  return (current ?? 0) + 1
}
