/**
 * How deep lists and mappings may nest in anything Shoal reads: a manifest, an API request body,
 * a message from a node. Real documents stay under 10; a parser (and zod, and JSON.stringify)
 * recurses once per level, so text made only of `[[[[…` costs seconds of a blocked event loop
 * and hundreds of MB for nothing. The bound is checked by a linear scan of the text, before any
 * parser sees it, and the scan stops at the first level over it.
 */
export const MAX_NESTING_DEPTH = 64

/** Where a text first nests deeper than the limit. Line and column are 1-based. */
export interface DepthExceeded {
  readonly limit: number
  readonly offset: number
  readonly line: number
  readonly column: number
  /** 0-based index of the YAML document it is in (always 0 for JSON). */
  readonly documentIndex: number
}

export function describeDepthExceeded(found: DepthExceeded): string {
  return `nesting deeper than ${found.limit} levels at line ${found.line}, column ${found.column}`
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d

/**
 * JSON: counts `[` and `{` not closed yet, outside strings. Does not validate anything else;
 * malformed text is the parser's to refuse.
 */
export function jsonDepthExceeded(text: string, limit = MAX_NESTING_DEPTH): DepthExceeded | null {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > limit) return located(text, i, limit, 0)
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) {
      depth--
    }
  }
  return null
}

/** Where `offset` is in `text`, as line and column for an error message. */
export function located(text: string, offset: number, limit: number, documentIndex: number): DepthExceeded {
  let line = 1
  let lineStart = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++
    lineStart = i + 1
  }
  return { limit, offset, line, column: offset - lineStart + 1, documentIndex }
}
