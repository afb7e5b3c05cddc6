import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import type { z } from 'zod'
import { type DocumentProblem, errorText, formatPath, InvalidDocumentError } from './catalog.js'
import { FirmwareProfile } from './schema.js'

// Apart from catalog.ts so that whoever reads compiled profiles (the agent) never loads the yaml package.

/** Parses one profile's YAML text; `file` only names it in errors. */
export function parseProfile(text: string, file: string): FirmwareProfile {
  return parseYamlDocument(FirmwareProfile, text, file, 'firmware profile')
}

/**
 * Parses YAML (or JSON, which YAML contains) and validates it with `schema`,
 * turning every syntax error and schema issue into a problem with its
 * line:column in the source, so an operator can jump straight to it.
 */
export function parseYamlDocument<S extends z.ZodType>(schema: S, text: string, file: string, what: string): z.output<S> {
  return readYamlValue(schema, text, file, what).parsed
}

/** parseYamlDocument's work, also giving the plain value before the schema transformed it. */
export function readYamlValue<S extends z.ZodType>(schema: S, text: string, file: string, what: string): { value: unknown; parsed: z.output<S> } {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  if (doc.errors.length > 0) {
    throw new InvalidDocumentError(
      file,
      what,
      doc.errors.map((error) => ({
        path: '',
        // The library's own wording for this one names its API, not the fix.
        message: error.code === 'MULTIPLE_DOCS' ? 'YAML syntax: a file holds one document; remove the "---" separator' : `YAML syntax: ${error.message}`,
        ...at(error.pos[0]),
      })),
    )
  }

  let value: unknown
  try {
    value = doc.toJS()
  } catch (error) {
    throw new InvalidDocumentError(file, what, [{ path: '', message: errorText(error) }])
  }
  const result = schema.safeParse(value)
  if (result.success) return { value, parsed: result.data }

  const problems = result.error.issues.flatMap((issue): DocumentProblem[] => {
    const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol')
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const offset = keyOffset(doc, path, key)
        return { path: formatPath([...path, key]), message: 'unknown field', ...(offset === undefined ? {} : at(offset)) }
      })
    }
    const offset = nodeOffset(doc, path)
    // zod words a missing field as a type error on undefined; say it the way a person would.
    const missing = issue.code === 'invalid_type' && / received undefined$/.test(issue.message)
    const message = missing ? `missing required field (expected ${issue.expected})` : issue.message
    return [{ path: formatPath(path), message, ...(offset === undefined ? {} : at(offset)) }]
  })
  throw new InvalidDocumentError(file, what, problems)
}

/** Start of the deepest node along `path` that exists, so a missing field points at its parent. */
function nodeOffset(doc: Document, path: ReadonlyArray<string | number>): number | undefined {
  let node: unknown = doc.contents
  let offset = rangeStart(node)
  for (const key of path) {
    node = child(node, key)
    if (node === undefined) break
    offset = rangeStart(node) ?? offset
  }
  return offset
}

/** Start of the unknown key itself, so the operator sees the typo rather than its parent. */
function keyOffset(doc: Document, path: ReadonlyArray<string | number>, key: string): number | undefined {
  const parent = path.reduce<unknown>((node, segment) => child(node, segment), doc.contents)
  const pair = isMap(parent) ? parent.items.find((item) => sameKey(item.key, key)) : undefined
  return rangeStart(pair?.key) ?? nodeOffset(doc, path)
}

function child(node: unknown, key: string | number): unknown {
  if (isMap(node)) {
    const pair = node.items.find((item) => sameKey(item.key, key))
    return pair ? (pair.value ?? pair.key) : undefined
  }
  return isSeq(node) ? node.items[Number(key)] : undefined
}

function sameKey(key: unknown, wanted: string | number): boolean {
  const value = isScalar(key) ? key.value : key
  return String(value) === String(wanted)
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range
  return range ? range[0] : undefined
}
