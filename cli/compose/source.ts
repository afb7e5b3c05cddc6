import { LineCounter, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml'
import { yamlDepthExceeded } from '../../protocol/yaml-bounds.js'

/** A path into the compose file: keys and list indexes, such as ['services', 'web', 'ports', 0]. */
export type ComposePath = readonly (string | number)[]

/** A compose file read into plain data, with the line of every key for messages. */
export interface ComposeSource {
  readonly file: string
  /** The top-level mapping, anchors and `<<` merge keys resolved. */
  readonly value: Readonly<Record<string, unknown>>
  /** 1-based line of the key (or list item) at the path; the nearest ancestor's when it is not in the file (merged in with `<<`). */
  readonly lineOf: (path: ComposePath) => number | undefined
}

/** The text cannot be read as a compose file at all; the message says where and why. */
export class ComposeReadError extends Error {
  readonly code = 'compose-unreadable'
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    reason: string,
  ) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${reason}`)
    this.name = 'ComposeReadError'
  }
}

/**
 * Parses a compose file: one YAML document whose top level is a mapping with a `services`
 * mapping. Throws ComposeReadError for anything else (invalid YAML, a manifest, an empty file).
 */
export function readCompose(text: string, file: string): ComposeSource {
  const deep = yamlDepthExceeded(text)
  if (deep) throw new ComposeReadError(file, deep.line, `nesting deeper than ${deep.limit} levels`)
  const lineCounter = new LineCounter()
  const documents = parseAllDocuments(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false, logLevel: 'error' })
  const list = Array.isArray(documents) ? documents : []
  const document = list[0]
  for (const error of document?.errors ?? []) {
    throw new ComposeReadError(file, lineCounter.linePos(error.pos[0]).line, `invalid YAML: ${error.message.split('\n')[0]}`)
  }
  if (list.length > 1) throw new ComposeReadError(file, undefined, 'holds several YAML documents; a compose file is one')
  let value: unknown
  try {
    value = document?.toJS({ maxAliasCount: 100 })
  } catch (cause) {
    throw new ComposeReadError(file, undefined, `invalid YAML: ${(cause as Error).message.split('\n')[0]}`)
  }
  if (refersToItself(value)) throw new ComposeReadError(file, undefined, 'invalid YAML: an alias refers to the node that holds it')
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ComposeReadError(file, undefined, 'not a compose file: the top level must be a mapping with services')
  const top = value as Record<string, unknown>
  const root = (document?.contents ?? null) as YamlNode | null
  const lineOf = (path: ComposePath): number | undefined => {
    const offset = offsetOf(root, path)
    return offset === undefined ? undefined : lineCounter.linePos(offset).line
  }
  if (top.kind !== undefined && top.apiVersion !== undefined)
    throw new ComposeReadError(file, lineOf(['kind']), 'not a compose file: it is a manifest (apiVersion and kind); check it with shoal validate')
  const services = top.services
  if (services === undefined) throw new ComposeReadError(file, undefined, 'not a compose file: it has no services')
  if (typeof services !== 'object' || services === null || Array.isArray(services))
    throw new ComposeReadError(file, lineOf(['services']), 'not a compose file: services must be a mapping of service names to services')
  return { file, value: top, lineOf }
}

/** Where the key at the path starts, or the nearest ancestor's key (or list item) that is in the tree. */
function offsetOf(root: YamlNode | null, path: ComposePath): number | undefined {
  let node: YamlNode | null = root
  let offset = root?.range?.[0]
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment))
      if (!pair) break
      offset = (pair.key as YamlNode).range?.[0] ?? offset
      node = pair.value as YamlNode | null
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as YamlNode | undefined
      if (!item) break
      offset = item.range?.[0] ?? offset
      node = item
    } else {
      break
    }
  }
  return offset
}

/** An anchor aliased inside itself (`a: &a [*a]`) reads into a cycle, which nothing after this could walk. */
function refersToItself(value: unknown, open: Set<object> = new Set()): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (open.has(value)) return true
  open.add(value)
  const cyclic = Object.values(value).some((item) => refersToItself(item, open))
  open.delete(value)
  return cyclic
}
