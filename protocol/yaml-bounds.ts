import { CST, Lexer } from 'yaml'
import { type DepthExceeded, located, MAX_NESTING_DEPTH } from './input-bounds.js'

// Apart from input-bounds.ts so that a reader of JSON only (the agent) never loads the yaml package.

type BlockKind = 'seq' | 'map'

/** Lexer tokens that neither start a document nor are part of one's content. */
const NOT_CONTENT = new Set<string | null>(['doc-mode', 'flow-error-end', 'scalar', 'newline', 'space', 'comment', 'byte-order-mark', 'directive-line'])

/**
 * YAML (and so JSON read as YAML): walks the yaml package's lexer, which already knows quotes,
 * comments, block scalars and plain scalars such as `a[0]`, and counts the collections open at
 * each token: flow collections (`[`, `{`) plus block ones. A block collection is recognised
 * the way the parser does it, by the column where it starts: a `-` opens a sequence, a `?`
 * or a `key:` opens a mapping, unless one of the same kind is already open at that column; a
 * line that starts left of a collection closes it. Compact forms (`- - - x`, `- a: b`) count
 * one level per indicator. The count can differ from the parser's by a level in odd corners
 * (an implicit pair inside a flow sequence is not counted); it is a bound, not a parser.
 */
export function yamlDepthExceeded(text: string, limit = MAX_NESTING_DEPTH): DepthExceeded | null {
  const block: { column: number; kind: BlockKind }[] = []
  let flow = 0
  let offset = 0
  let lineStart = 0
  /** No indicator or node has been seen on this line yet (in block context). */
  let firstOnLine = true
  /** Column of the node after the last indicator on this line: where a `key:` mapping starts. */
  let nodeColumn: number | null = null
  let atScalar = false
  /** A block scalar's header was seen: its text, which starts a line, is not a node of its own. */
  let inBlockScalar = false
  let documentIndex = 0
  let documentStarted = false

  /** Past the limit: located where the collection that passed it starts. */
  const exceeded = (at = offset): DepthExceeded | null => (block.length + flow > limit ? located(text, at, limit, documentIndex) : null)
  /** A line's first indicator or node at `column` closes every block collection right of it. */
  const lineBegins = (column: number): void => {
    if (!firstOnLine) return
    firstOnLine = false
    while ((block.at(-1)?.column ?? -1) > column) block.pop()
  }
  const open = (kind: BlockKind, column: number): DepthExceeded | null => {
    let top = block.at(-1)
    // A key at the column of a sequence ends it (`a:\n- x\nb: y`); a sequence at a key's column
    // is that key's value, one level deeper.
    if (top && top.column === column && top.kind === 'seq' && kind === 'map') {
      block.pop()
      top = block.at(-1)
    }
    if (top && top.column === column && top.kind === kind) return null
    block.push({ column, kind })
    return exceeded(lineStart + column)
  }
  const node = (column: number): void => {
    lineBegins(column)
    nodeColumn ??= column
  }

  for (const token of new Lexer().lex(text)) {
    const column = offset - lineStart
    let found: DepthExceeded | null = null
    const type = atScalar ? 'scalar-source' : CST.tokenType(token)
    atScalar = false
    if (!NOT_CONTENT.has(type)) {
      if (type === 'doc-start' || type === 'doc-end') {
        if (documentStarted) documentIndex++
        documentStarted = type === 'doc-start'
      } else {
        documentStarted = true
      }
    }
    switch (type) {
      case 'scalar':
        // A marker: the next token is the scalar's source, whatever its first character.
        atScalar = true
        break
      case 'doc-start':
      case 'doc-end':
        block.length = 0
        flow = 0
        nodeColumn = null
        firstOnLine = false
        break
      case 'flow-seq-start':
      case 'flow-map-start':
        if (flow === 0) node(column)
        flow++
        found = exceeded()
        break
      case 'flow-seq-end':
      case 'flow-map-end':
        if (flow > 0) flow--
        break
      case 'newline':
        if (flow === 0) {
          firstOnLine = true
          nodeColumn = null
        }
        break
      case 'seq-item-ind':
      case 'explicit-key-ind':
        if (flow > 0) break
        lineBegins(column)
        found = open(type === 'seq-item-ind' ? 'seq' : 'map', column)
        nodeColumn = null
        break
      case 'map-value-ind':
        if (flow > 0) break
        if (firstOnLine) {
          // `: value` on its own line: the value of a `?` key in the mapping at this column.
          lineBegins(column)
          found = open('map', column)
        } else {
          found = open('map', nodeColumn ?? column)
        }
        nodeColumn = null
        break
      case 'scalar-source':
        if (inBlockScalar) inBlockScalar = false
        else if (flow === 0) node(column)
        break
      case 'block-scalar-header':
        inBlockScalar = true
        if (flow === 0) node(column)
        break
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'alias':
      case 'anchor':
      case 'tag':
        if (flow === 0) node(column)
        break
      default:
        break
    }
    if (found) return found
    const newline = token.lastIndexOf('\n')
    if (newline >= 0) {
      lineStart = offset + newline + 1
      // A block scalar's text or a quoted scalar may end its line: what follows starts the next.
      if (newline === token.length - 1 && flow === 0) {
        firstOnLine = true
        nodeColumn = null
      }
    }
    if (type !== 'doc-mode' && type !== 'flow-error-end' && type !== 'scalar') offset += token.length
  }
  return null
}
