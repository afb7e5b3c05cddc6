import { basename } from 'node:path'
import { API_VERSION, Config, DataKey, Labels, MAX_CONFIG_BYTES, MAX_SECRET_BYTES, Name, Secret, type ConfigObject } from '../protocol/index.js'
import type { ConfigObjectKind } from './api-client.js'
import { CliError, ExitCode } from './io.js'

/**
 * `shoal create config|secret`: the manifest built from --from-literal, --from-file and --label,
 * checked here so a mistake is one line and exit 2 before anything is sent. Pure; the command
 * reads the files.
 */

/** The most one Config or Secret may hold (base and overrides); a single file over it is refused before it is read. */
export const MAX_DATA_BYTES: Readonly<Record<ConfigObjectKind, number>> = { Config: MAX_CONFIG_BYTES, Secret: MAX_SECRET_BYTES }

/** One key and value, and the flag it came from (for messages). */
export interface DataEntry {
  readonly key: string
  readonly value: string
  readonly origin: string
}

/** `--from-literal k=v`: split at the first "=", so a value may hold "=" itself. */
export function parseLiteral(text: string): DataEntry {
  const at = text.indexOf('=')
  // Never echoed: the text may be a secret value given without its key.
  if (at <= 0) throw new CliError(`--from-literal needs KEY=VALUE (${at === 0 ? 'the key is empty' : 'no "=" in it'})`, ExitCode.usage)
  const key = text.slice(0, at)
  checkKey(key, '--from-literal')
  return { key, value: text.slice(at + 1), origin: `--from-literal ${key}=…` }
}

/** `--from-file [k=]path`: the key is the file's base name unless one is given. */
export function parseFileSpec(text: string): { readonly key: string; readonly path: string; readonly origin: string } {
  const at = text.indexOf('=')
  const key = at > 0 ? text.slice(0, at) : basename(text)
  const path = at > 0 ? text.slice(at + 1) : text
  if (path === '') throw new CliError(`--from-file ${JSON.stringify(text)}: use PATH or KEY=PATH`, ExitCode.usage)
  const origin = `--from-file ${text}`
  checkKey(key, origin, at > 0 ? '' : " (the key is the file's name; give another with KEY=PATH)")
  return { key, path, origin }
}

/** The file's bytes as a value: refused when over the kind's limit or not UTF-8 text (values are strings). */
export function fileValue(kind: ConfigObjectKind, spec: { key: string; origin: string }, bytes: Uint8Array): DataEntry {
  checkFileSize(kind, spec.origin, bytes.byteLength)
  let value: string
  try {
    value = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new CliError(`${spec.origin}: not UTF-8 text; ${kind} values are text (encode binary data, e.g. base64, first)`, ExitCode.usage)
  }
  return { key: spec.key, value, origin: spec.origin }
}

/** A file too large to hold, refused before it is read. */
export function checkFileSize(kind: ConfigObjectKind, origin: string, bytes: number): void {
  const limit = MAX_DATA_BYTES[kind]
  if (bytes > limit) throw new CliError(`${origin}: ${bytes} bytes is over the ${limit}-byte limit for a ${kind}`, ExitCode.usage)
}

/** `--label k=v`, each checked as a label. */
export function parseLabels(texts: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const text of texts) {
    const at = text.indexOf('=')
    if (at <= 0) throw new CliError(`--label ${JSON.stringify(text)}: use KEY=VALUE`, ExitCode.usage)
    const key = text.slice(0, at)
    const value = text.slice(at + 1)
    const checked = Labels.safeParse({ [key]: value })
    if (!checked.success) throw new CliError(`--label ${text}: ${checked.error.issues[0]?.message ?? 'not a label'}`, ExitCode.usage)
    if (Object.hasOwn(labels, key)) throw new CliError(`--label ${key} is given twice`, ExitCode.usage)
    labels[key] = value
  }
  return labels
}

export interface ConfigObjectRequest {
  readonly kind: ConfigObjectKind
  readonly name: string
  readonly entries: readonly DataEntry[]
  readonly labels: Readonly<Record<string, string>>
}

/** The manifest, exactly as `shoal apply -f` would read it; a usage error for anything the hub would refuse. */
export function buildConfigObject(request: ConfigObjectRequest): ConfigObject {
  const { kind, name } = request
  const named = Name.safeParse(name)
  if (!named.success)
    throw new CliError(`${kind.toLowerCase()} name ${JSON.stringify(name)} ${named.error.issues[0]?.message ?? 'is not valid'}`, ExitCode.usage)
  if (request.entries.length === 0)
    throw new CliError(`a ${kind} needs data: give --from-literal KEY=VALUE or --from-file [KEY=]PATH (each repeatable)`, ExitCode.usage)
  const data: Record<string, string> = {}
  const origins = new Map<string, string>()
  for (const entry of request.entries) {
    const first = origins.get(entry.key)
    if (first !== undefined)
      throw new CliError(`key ${JSON.stringify(entry.key)} is given twice (${first} and ${entry.origin}); keys must be unique`, ExitCode.usage)
    origins.set(entry.key, entry.origin)
    data[entry.key] = entry.value
  }
  const labels = Object.keys(request.labels).length > 0 ? { labels: { ...request.labels } } : {}
  const manifest = { apiVersion: API_VERSION, kind, metadata: { name, ...labels }, data }
  const checked = (kind === 'Config' ? Config : Secret).safeParse(manifest)
  if (!checked.success) {
    const issue = checked.error.issues[0]
    throw new CliError(`${kind.toLowerCase()} ${name}: ${issue ? issue.message : 'not a valid manifest'}`, ExitCode.usage)
  }
  return checked.data
}

function checkKey(key: string, origin: string, hint = ''): void {
  const checked = DataKey.safeParse(key)
  if (!checked.success) throw new CliError(`${origin}: key ${JSON.stringify(key)} ${checked.error.issues[0]?.message ?? 'is not valid'}${hint}`, ExitCode.usage)
}
