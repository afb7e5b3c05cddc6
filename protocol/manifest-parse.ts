import { LineCounter, isCollection, isMap, isPair, isScalar, isSeq, parseAllDocuments, visit, type Document, type Node as YamlNode } from 'yaml'
import { MAX_BYTES } from './codec.js'
import { issuesFromZod, readableIssue, type ValidationIssue } from './errors.js'
import { yamlDepthExceeded } from './yaml-bounds.js'
import { MANIFEST_KINDS, type Manifest } from './manifest.js'

/** One problem in a manifest file, located as an editor would show it. */
export interface ManifestError {
  readonly file: string
  /** 0-based index of the YAML document in a multi-document file. */
  readonly documentIndex: number
  readonly path: string
  readonly message: string
  /** 1-based; absent when the source has no positions for this problem. */
  readonly line?: number
  readonly column?: number
}

export interface ParsedManifest {
  readonly documentIndex: number
  readonly manifest: Manifest
  /** The document as written: its fields in the order written, no defaults filled in (what `kubectl apply` keeps as last-applied). */
  readonly written: Readonly<Record<string, unknown>>
  /** 1-based position of `metadata.name`, for messages about the manifest as a whole. */
  readonly line: number
  readonly column: number
}

export interface ManifestParseResult {
  readonly manifests: readonly ParsedManifest[]
  readonly errors: readonly ManifestError[]
}

const KNOWN_KINDS = Object.keys(MANIFEST_KINDS).join(', ')

const FORBIDDEN_KEY_MESSAGE = '"__proto__" cannot be a key: it would be dropped without a word when the document is read'

/** Where a map uses the key `__proto__`: turned into an object, it would set the prototype instead. */
function forbiddenKeys(document: Document, lineCounter: LineCounter): { line: number; column: number }[] {
  const found: { line: number; column: number }[] = []
  visit(document, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '__proto__') {
        const position = pair.key.range ? lineCounter.linePos(pair.key.range[0]) : { line: 1, col: 1 }
        found.push({ line: position.line, column: position.col })
      }
    },
  })
  return found
}

/**
 * Reads YAML or JSON (JSON is YAML), one or many documents, and validates each against its
 * kind. Never throws for bad input: every fault comes back as a located ManifestError.
 * Text over MAX_BYTES.manifest, or nested deeper than MAX_NESTING_DEPTH, is refused whole
 * before the YAML parser sees it (the parser recurses once per level).
 */
export function parseManifests(text: string, file = '<input>'): ManifestParseResult {
  const bound = boundsFault(text, file)
  if (bound) return { manifests: [], errors: [bound] }
  const lineCounter = new LineCounter()
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, logLevel: 'error' })
  const manifests: ParsedManifest[] = []
  const errors: ManifestError[] = []
  const list = Array.isArray(documents) ? documents : []
  list.forEach((document, documentIndex) => {
    const located = (issue: ValidationIssue): ManifestError => ({
      file,
      documentIndex,
      path: issue.path,
      message: issue.message,
      ...positionOf(document, issue, lineCounter),
    })
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        // prettyErrors is off (it would put source excerpts in the message), so linePos is not
        // filled in: locate the error from its offset instead.
        const position = lineCounter.linePos(error.pos[0])
        errors.push({ file, documentIndex, path: '', message: firstLine(error.message), line: position.line, column: position.col })
      }
      return
    }
    if (isEmptyDocument(document)) return // e.g. between `---` separators, or only comments
    const forbidden = forbiddenKeys(document, lineCounter)
    if (forbidden.length > 0) {
      errors.push(...forbidden.map((position) => ({ file, documentIndex, path: '', message: FORBIDDEN_KEY_MESSAGE, ...position })))
      return
    }
    let value: unknown
    try {
      value = document.toJS({ maxAliasCount: 100 })
    } catch (cause) {
      // An alias to an anchor that is not (yet) defined, or an alias bomb.
      const range = unresolvedAliasRange(document) ?? document.contents?.range
      const position = range ? lineCounter.linePos(range[0]) : undefined
      errors.push({
        file,
        documentIndex,
        path: '',
        message: firstLine((cause as Error).message),
        ...(position ? { line: position.line, column: position.col } : {}),
      })
      return
    }
    const issues = validateManifestValue(value)
    if ('manifest' in issues) {
      const position = positionOf(document, { path: 'metadata.name', message: '', segments: ['metadata', 'name'] }, lineCounter)
      manifests.push({
        documentIndex,
        manifest: issues.manifest,
        written: value as Record<string, unknown>,
        line: position.line ?? 1,
        column: position.column ?? 1,
      })
    } else {
      errors.push(...issues.issues.map(located).sort(byPosition))
    }
  })
  return { manifests, errors }
}

/** Size, then nesting depth: both linear in the text, and the scan stops at the first level over. */
function boundsFault(text: string, file: string): ManifestError | null {
  // At most 3 bytes per UTF-16 unit: most text is under the limit without counting.
  if (text.length * 3 > MAX_BYTES.manifest) {
    const bytes = Buffer.byteLength(text)
    if (bytes > MAX_BYTES.manifest) {
      return {
        file,
        documentIndex: 0,
        path: '',
        message: `${bytes} bytes is over the ${MAX_BYTES.manifest}-byte limit for manifests; split them into several files`,
      }
    }
  }
  const deep = yamlDepthExceeded(text)
  if (!deep) return null
  return {
    file,
    documentIndex: deep.documentIndex,
    path: '',
    message: `nesting deeper than ${deep.limit} levels (lists and mappings may nest at most ${deep.limit} deep)`,
    line: deep.line,
    column: deep.column,
  }
}

/** Validates one already-parsed manifest value by its kind. */
export function validateManifestValue(value: unknown): { manifest: Manifest } | { issues: ValidationIssue[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { issues: [{ path: '', message: 'a manifest must be a mapping with apiVersion, kind, metadata and spec' }] }
  }
  const kind = (value as Record<string, unknown>).kind
  if (typeof kind !== 'string' || !Object.hasOwn(MANIFEST_KINDS, kind)) {
    const message = kind === undefined ? `missing kind (known kinds: ${KNOWN_KINDS})` : `unknown kind ${JSON.stringify(kind)} (known kinds: ${KNOWN_KINDS})`
    return { issues: [{ path: 'kind', message, segments: ['kind'] }] }
  }
  const schema = MANIFEST_KINDS[kind as keyof typeof MANIFEST_KINDS]
  const result = schema.safeParse(value, { error: readableIssue })
  return result.success ? { manifest: result.data } : { issues: issuesFromZod(result.error) }
}

export function formatManifestError(error: ManifestError): string {
  const where = error.line !== undefined ? `${error.file}:${error.line}:${error.column ?? 1}` : error.file
  const path = error.path === '' ? '' : ` ${error.path}:`
  return `${where}: document ${error.documentIndex}:${path} ${error.message}`
}

function positionOf(document: Document, issue: ValidationIssue, lineCounter: LineCounter): { line?: number; column?: number } {
  const range = rangeOf(document.contents as YamlNode | null, issue.segments ?? [], issue.unknownField ?? false)
  if (!range) return {}
  const position = lineCounter.linePos(range[0])
  return { line: position.line, column: position.col }
}

/**
 * Walks the YAML tree along the path and returns where an editor should point: the key of an
 * unknown field; the value of a scalar field; the key of a mapping or list field (a block value
 * starts on the next line, at its first child, which is not what is wrong). When the field is
 * missing, the deepest part of the path that exists.
 */
function rangeOf(root: YamlNode | null, segments: readonly PropertyKey[], pointAtKey: boolean): [number, number, number] | undefined {
  let node: YamlNode | null = root
  let range = node?.range ?? undefined
  for (let i = 0; i < segments.length && node; i++) {
    const segment = segments[i]
    const last = i === segments.length - 1
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment))
      if (!pair) break
      const key = pair.key as YamlNode
      const value = pair.value as YamlNode | null
      if (last && pointAtKey) return key.range ?? range
      node = value
      range = (value && !isCollection(value) ? value.range : key.range) ?? range
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as YamlNode | undefined
      if (!item) break
      node = item
      range = item.range ?? range
    } else {
      break
    }
  }
  return range ?? undefined
}

/** No content at all: the parser gives an empty plain scalar (or none); an explicit `~` or `null` is content. */
function isEmptyDocument(document: Document): boolean {
  const contents = document.contents
  return contents === null || (isScalar(contents) && contents.value === null && !contents.source)
}

/** The first alias whose anchor is not defined before it, to point the error at it. */
function unresolvedAliasRange(document: Document): YamlNode['range'] | undefined {
  let found: YamlNode['range'] | undefined
  visit(document, {
    Alias(_key, alias) {
      if (alias.resolve(document) === undefined) {
        found = alias.range
        return visit.BREAK
      }
      return undefined
    },
  })
  return found
}

function byPosition(a: ManifestError, b: ManifestError): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message
}
