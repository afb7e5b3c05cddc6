import type { NoteTaker } from './notes.js'
import type { ComposePath } from './source.js'

/** `$$`, `$NAME`, or `${NAME}` with an optional `:-`, `-`, `:?`, `?`, `:+` or `+` and its word. */
const REFERENCE = /\$(\$|[A-Za-z_][A-Za-z0-9_]*|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\})/g

/**
 * Compose's variable interpolation over every string in the value, as docker compose does it
 * before reading the file: `${TAG:-latest}` takes TAG from `variables`, else `latest`; `$$` is a
 * literal `$`. An unset variable without a default becomes empty, as in compose, with a note.
 * Pure: the caller decides what the variables are (the shell's environment, for the CLI).
 */
export function interpolate(value: unknown, variables: Readonly<Record<string, string | undefined>>, notes: NoteTaker, path: ComposePath = []): unknown {
  if (typeof value === 'string') return value.includes('$') ? interpolateString(value, variables, notes, path) : value
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, variables, notes, [...path, index]))
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, variables, notes, [...path, key])
    return out
  }
  return value
}

function interpolateString(text: string, variables: Readonly<Record<string, string | undefined>>, notes: NoteTaker, path: ComposePath): string {
  return text.replace(REFERENCE, (whole, body: string, braced: string | undefined, operator: string | undefined, word: string | undefined) => {
    if (body === '$') return '$'
    const name = braced ?? body
    const value = variables[name]
    const set = value !== undefined
    const nonEmpty = set && value !== ''
    switch (operator) {
      case ':-':
        return nonEmpty ? value : (word ?? '')
      case '-':
        return set ? value : (word ?? '')
      case ':+':
        return nonEmpty ? (word ?? '') : ''
      case '+':
        return set ? (word ?? '') : ''
      case ':?':
      case '?':
        if (operator === ':?' ? nonEmpty : set) return value as string
        notes.notMapped(path, `${whole}: ${name} is required${word ? ` (${word})` : ''} but not set; left empty`)
        return ''
      default:
        if (set) return value
        notes.note(path, `${whole}: ${name} is not set; left empty, as docker compose does`)
        return ''
    }
  })
}
