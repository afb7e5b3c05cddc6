import { isMap, isScalar, LineCounter, parseAllDocuments } from 'yaml'

/**
 * Where a field is in a manifest file: 1-based line and column of its key in the
 * `documentIndex`-th YAML document, or null when the file does not hold it there.
 */
export function locateInDocument(text: string, documentIndex: number, path: readonly (string | number)[]): { line: number; column: number } | null {
  const lineCounter = new LineCounter()
  const documents = parseAllDocuments(text, { lineCounter, logLevel: 'silent' })
  const document = Array.isArray(documents) ? documents[documentIndex] : undefined
  const last = path[path.length - 1]
  if (!document || last === undefined) return null
  const parent = path.length === 1 ? document.contents : document.getIn(path.slice(0, -1), true)
  if (!isMap(parent)) return null
  const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last)
  const range = pair && isScalar(pair.key) ? pair.key.range : undefined
  if (!range) return null
  const position = lineCounter.linePos(range[0])
  return { line: position.line, column: position.col }
}
