import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { MAX_BYTES } from '../protocol/codec.js'
import type { ErrorDetail } from './api-client.js'
import { CliError, ExitCode } from './io.js'

export const STDIN_NAME = '<stdin>'

/** One input as read: its text, or why it could not be read. */
export type ManifestSource = { readonly file: string; readonly text: string } | { readonly file: string; readonly readError: string }

export interface SourceReading {
  readonly readStdin: () => Promise<string>
  /** Said once before waiting on a terminal's standard input. */
  readonly promptForStdin?: () => void
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i

/** -f's files, directories (their *.yaml, *.yml and *.json, sorted) and `-`, read; a file that cannot be read is kept with why. */
export async function readManifestSources(paths: readonly string[], reading: SourceReading): Promise<ManifestSource[]> {
  if (paths.filter((p) => p === '-').length > 1) throw new CliError('standard input (-f -) can be given only once', ExitCode.usage)
  const sources: ManifestSource[] = []
  for (const path of paths) {
    if (path === '-') {
      reading.promptForStdin?.()
      sources.push({ file: STDIN_NAME, text: await reading.readStdin() })
      continue
    }
    let info
    try {
      info = await stat(path)
    } catch {
      throw new CliError(`-f ${path}: no such file or directory`, ExitCode.usage)
    }
    if (info.isDirectory()) {
      const files = (await readdir(path)).filter((name) => MANIFEST_FILE.test(name)).sort()
      if (files.length === 0) throw new CliError(`-f ${path}: no *.yaml, *.yml or *.json files in this directory`, ExitCode.usage)
      for (const name of files) sources.push(await readSource(join(path, name)))
    } else {
      sources.push(await readSource(path))
    }
  }
  const total = sources.reduce((sum, s) => sum + ('text' in s ? Buffer.byteLength(s.text) : 0), 0)
  if (total > MAX_BYTES.manifest)
    throw new CliError(
      `the manifests add up to ${total} bytes, over the hub's ${MAX_BYTES.manifest}-byte limit for one apply; apply them in parts`,
      ExitCode.failed,
    )
  return sources
}

/**
 * Whether the hub's verdict alone would not say all the CLI checks: a file that could not be read
 * or holds no document (the hub sees one body), or a document that may carry inline registry
 * credentials (a warning only the CLI prints). Such sources are validated before they are sent.
 */
export function needsCheckBeforeSending(sources: readonly ManifestSource[]): boolean {
  return sources.some((source) => !('text' in source) || !holdsContent(source.text) || INLINE_CREDENTIAL_KEY.test(source.text))
}

const INLINE_CREDENTIAL_KEY = /username|password/i

/** A line that is not blank, a comment or a document marker. */
function holdsContent(text: string): boolean {
  return text.split('\n').some((line) => {
    const trimmed = line.trim()
    return trimmed !== '' && !trimmed.startsWith('#') && trimmed !== '---' && trimmed !== '...'
  })
}

/** The sources as one multi-document body, and a way back from its lines to the files. */
export function combine(sources: readonly { file: string; text: string }[]): { text: string; locate: (detail: ErrorDetail) => string } {
  const starts: { file: string; line: number }[] = []
  let line = 1
  const parts: string[] = []
  for (const source of sources) {
    const text = source.text.endsWith('\n') ? source.text : `${source.text}\n`
    starts.push({ file: source.file, line })
    parts.push(text)
    line += text.split('\n').length // the file's lines (it ends with a newline), then the `---` line
  }
  const locate = (detail: ErrorDetail): string => {
    const path = detail.path ? ` ${detail.path}:` : ''
    if (detail.line === undefined) return `request: document ${detail.documentIndex ?? '?'}:${path} ${detail.message ?? ''}`
    const at = detail.line
    const start = [...starts].reverse().find((s) => s.line <= at) ?? starts[0]
    return `${start?.file ?? 'request'}:${at - (start?.line ?? 1) + 1}:${detail.column ?? 1}:${path} ${detail.message ?? ''}`
  }
  return { text: parts.join('---\n'), locate }
}

async function readSource(file: string): Promise<ManifestSource> {
  try {
    return { file, text: await readFile(file, 'utf8') }
  } catch (error) {
    return { file, readError: `cannot read: ${(error as Error).message}` }
  }
}
