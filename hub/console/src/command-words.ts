/** "sh", "bash -l": a command typed in one box, as words split on spaces (no quoting: for anything fancier, `sh -c '...'` or `shoal exec`). */
export function commandWords(text: string): string[] {
  return text.split(/\s+/).filter(Boolean)
}
