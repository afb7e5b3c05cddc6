import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
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

/** A profile directory that cannot be loaded as a catalogue: the operator must fix a file or the path. */
export function isProfileCatalogError(error: unknown): error is InvalidDocumentError | DuplicateProfileError | ProfileDirectoryError {
  return error instanceof InvalidDocumentError || error instanceof DuplicateProfileError || error instanceof ProfileDirectoryError
}

/**
 * The shipped profiles sit next to this module: in the source tree when run
 * from TypeScript, in dist/firmware-profiles after the build copies them.
 */
export function defaultProfileDir(): string {
  return dirname(fileURLToPath(import.meta.url))
}

/**
 * The build's compiled form of a directory's YAML profiles (their parsed values as JSON, each with
 * the SHA-256 of its YAML text), so the agent reads its profiles without loading a YAML parser:
 * about 3 MiB of resident memory it would keep for good. A catalog whose files or hashes differ
 * from the YAML beside it is stale and ignored.
 */
export const PROFILE_CATALOG_FILE = 'catalog.json'

interface CompiledCatalog {
  readonly profiles: ReadonlyArray<{ readonly file: string; readonly sha256: string; readonly value: unknown }>
}

/** Loads and validates every `*.yaml` in `dir` (through its compiled catalog when current), sorted by profile name. */
export async function loadProfiles(dir: string = defaultProfileDir()): Promise<FirmwareProfile[]> {
  const texts = await readProfileTexts(dir)
  const compiled = await readCatalog(dir, texts)
  const read: (entry: string, text: string) => FirmwareProfile = compiled
    ? (entry) => validateCompiled(compiled.get(entry), join(dir, PROFILE_CATALOG_FILE), entry)
    : await yamlReader(dir)
  const fileByName = new Map<string, string>()
  const profiles: FirmwareProfile[] = []
  for (const [entry, text] of texts) {
    const file = join(dir, entry)
    const profile = read(entry, text)
    const earlier = fileByName.get(profile.name)
    if (earlier !== undefined) throw new DuplicateProfileError(profile.name, [earlier, file])
    fileByName.set(profile.name, file)
    profiles.push(profile)
  }
  return profiles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** Writes `dir`'s compiled catalog after validating every profile in it (the build runs this). */
export async function writeProfileCatalog(dir: string): Promise<void> {
  const texts = await readProfileTexts(dir)
  const { readYamlValue } = await import('./yaml-document.js')
  const profiles = [...texts].map(([file, text]) => ({
    file,
    sha256: sha256(text),
    value: readYamlValue(FirmwareProfile, text, join(dir, file), 'firmware profile').value,
  }))
  await writeFile(join(dir, PROFILE_CATALOG_FILE), `${JSON.stringify({ profiles } satisfies CompiledCatalog)}\n`)
  await loadProfiles(dir)
}

async function readProfileTexts(dir: string): Promise<Map<string, string>> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (error) {
    throw new ProfileDirectoryError(dir, `${errorText(error)}; pass an existing directory of *.yaml profiles`)
  }
  const files = entries.filter((entry) => entry.endsWith('.yaml')).sort()
  if (files.length === 0) throw new ProfileDirectoryError(dir, 'it holds no *.yaml profiles; add at least one generic profile per architecture')
  const texts = new Map<string, string>()
  for (const file of files) texts.set(file, await readFile(join(dir, file), 'utf8'))
  return texts
}

/** The catalog's values by file, or null when there is none or it does not match the YAML files exactly. */
async function readCatalog(dir: string, texts: ReadonlyMap<string, string>): Promise<Map<string, unknown> | null> {
  let catalog: CompiledCatalog
  try {
    catalog = JSON.parse(await readFile(join(dir, PROFILE_CATALOG_FILE), 'utf8')) as CompiledCatalog
  } catch {
    return null
  }
  const entries = Array.isArray(catalog?.profiles) ? catalog.profiles : []
  if (entries.length !== texts.size) return null
  const values = new Map<string, unknown>()
  for (const entry of entries) {
    const text = texts.get(entry?.file)
    if (text === undefined || entry.sha256 !== sha256(text)) return null
    values.set(entry.file, entry.value)
  }
  return values
}

function validateCompiled(value: unknown, catalogFile: string, file: string): FirmwareProfile {
  const result = FirmwareProfile.safeParse(value)
  if (result.success) return result.data
  throw new InvalidDocumentError(`${catalogFile} (compiled from ${file})`, 'firmware profile', schemaProblems(result.error.issues))
}

/** The YAML parser, loaded on demand: only a directory without a current catalog needs it. */
async function yamlReader(dir: string): Promise<(entry: string, text: string) => FirmwareProfile> {
  const { parseProfile } = await import('./yaml-document.js')
  return (entry, text) => parseProfile(text, join(dir, entry))
}

/** A schema's issues as problems without source positions (for documents that are not text). */
export function schemaProblems(issues: readonly z.core.$ZodIssue[]): DocumentProblem[] {
  return issues.map((issue) => ({ path: formatPath(issue.path.filter((key): key is string | number => typeof key !== 'symbol')), message: issue.message }))
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key), '')
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function formatProblem(file: string, problem: DocumentProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`
  return `${where}: ${problem.path || '(document)'}: ${problem.message}`
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
