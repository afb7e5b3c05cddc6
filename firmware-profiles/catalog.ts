import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import type { z } from 'zod'
import { FirmwareProfile } from './schema.js'

/** One thing wrong with a YAML/JSON document, located for the person who has to fix it. */
export interface DocumentProblem {
  /** Field path such as `match.models[0]`; empty for the whole document. */
  readonly path: string
  readonly message: string
  /** 1-based; absent when the document is empty. */
  readonly line?: number
  readonly column?: number
}

export class InvalidDocumentError extends Error {
  readonly code = 'invalid-document'
  constructor(
    readonly file: string,
    readonly what: string,
    readonly problems: readonly DocumentProblem[],
  ) {
    const listed = problems.slice(0, 5).map((problem) => formatProblem(file, problem))
    const more = problems.length > 5 ? [`(and ${problems.length - 5} more)`] : []
    super(`invalid ${what}: ${[...listed, ...more].join('; ')} — fix the file and try again`)
    this.name = 'InvalidDocumentError'
  }
}

export class DuplicateProfileError extends Error {
  readonly code = 'duplicate-profile'
  constructor(
    readonly profileName: string,
    readonly files: readonly string[],
  ) {
    super(`firmware profile name ${JSON.stringify(profileName)} is used by both ${files.join(' and ')}; rename one of them`)
    this.name = 'DuplicateProfileError'
  }
}

export class ProfileDirectoryError extends Error {
  readonly code = 'profile-directory'
  constructor(
    readonly dir: string,
    detail: string,
  ) {
    super(`cannot load firmware profiles from ${dir}: ${detail}`)
    this.name = 'ProfileDirectoryError'
  }
}

/**
 * The shipped profiles sit next to this module: in the source tree when run
 * from TypeScript, in dist/firmware-profiles after the build copies them.
 */
export function defaultProfileDir(): string {
  return dirname(fileURLToPath(import.meta.url))
}

/** Loads and validates every `*.yaml` in `dir`, sorted by profile name. */
export async function loadProfiles(dir: string = defaultProfileDir()): Promise<FirmwareProfile[]> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (error) {
    throw new ProfileDirectoryError(dir, `${errorText(error)}; pass an existing directory of *.yaml profiles`)
  }
  const files = entries.filter((entry) => entry.endsWith('.yaml')).sort()
  if (files.length === 0) throw new ProfileDirectoryError(dir, 'it holds no *.yaml profiles; add at least one generic profile per architecture')

  const fileByName = new Map<string, string>()
  const profiles: FirmwareProfile[] = []
  for (const entry of files) {
    const file = join(dir, entry)
    const profile = parseProfile(await readFile(file, 'utf8'), file)
    const earlier = fileByName.get(profile.name)
    if (earlier !== undefined) throw new DuplicateProfileError(profile.name, [earlier, file])
    fileByName.set(profile.name, file)
    profiles.push(profile)
  }
  return profiles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

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
  if (result.success) return result.data

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

function formatPath(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key), '')
}

function formatProblem(file: string, problem: DocumentProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`
  return `${where}: ${problem.path || '(document)'}: ${problem.message}`
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
