import { readFile, stat } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { MAX_BYTES } from '../../protocol/codec.js'
import type { PullCredentials } from '../../protocol/container-template.js'
import { formatPath } from '../../protocol/errors.js'
import { isPodTemplate } from '../../protocol/pod-template.js'
import { formatManifestError, parseManifests, type ManifestError, type ParsedManifest } from '../../protocol/manifest-parse.js'
import { locateInDocument } from '../manifest-locate.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { STDIN_NAME, type ManifestSource } from '../manifest-sources.js'

type OutputFormat = 'text' | 'json'

/** The file name `-` stands for, in messages and in the JSON report. */

/** One problem, as `-o json` prints it: every key always present, null where it does not apply. */
export interface ReportError {
  readonly file: string
  readonly documentIndex: number | null
  readonly path: string
  readonly line: number | null
  readonly column: number | null
  readonly message: string
}

export interface ReportFile {
  readonly file: string
  readonly valid: boolean
  readonly manifests: readonly { readonly documentIndex: number; readonly kind: string; readonly name: string }[]
  readonly errorCount: number
}

/** The stable result of `shoal validate -o json`; `warnings` only when there are some. */
export interface ValidationReport {
  readonly valid: boolean
  readonly files: readonly ReportFile[]
  readonly errors: readonly ReportError[]
  /** Valid, but unwise (inline registry passwords): printed, never a failure. */
  readonly warnings: readonly ReportError[]
}

const INLINE_CREDENTIALS =
  'warning: inline username and password travel and are stored in plain text (in every desired document, in the hub and on the node); put them in a Secret and use pullCredentials: { secret: NAME }'

export interface ValidateDeps {
  /** Reads all of standard input, for the file `-`. */
  readonly readStdin: () => Promise<string>
}

const defaultDeps: ValidateDeps = { readStdin: () => readStream(process.stdin) }

/** `shoal validate FILE...`: checks manifests offline, exactly as the hub will on apply. */
export function validateCommand(io: CliIo, deps: ValidateDeps = defaultDeps): Command {
  return new Command('validate')
    .description('check manifest files (YAML or JSON, one or many documents each) without contacting the hub')
    .argument('<files...>', 'manifest files; - reads standard input')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json'] satisfies OutputFormat[]).default('text'))
    .addHelpText(
      'after',
      `
Every problem is printed as FILE:LINE:COLUMN: document N: FIELD: MESSAGE, and the
command exits 1 if there is any (2 when it is used wrongly). Warnings (inline registry
credentials, which travel and are stored in plain text) go to standard error in the same form
and leave the exit code alone.

Examples:
  $ shoal validate deploy/web.yaml deploy/ingest.yaml
  $ shoal validate deploy/*.yaml -o json | jq '.errors[] | "\\(.file):\\(.line) \\(.path)"'
  $ helm template ./chart | shoal validate -`,
    )
    .action(async (files: string[], options: { output: OutputFormat }) => {
      if (files.filter((file) => file === '-').length > 1) throw new CliError('standard input (-) can be given only once', ExitCode.usage)
      const sources: ManifestSource[] = []
      for (const file of files) sources.push(file === '-' ? await readStdinSource(io, deps) : await readSource(file))
      const report = validateSources(sources)
      if (options.output === 'json') {
        const { warnings, ...rest } = report
        io.out(`${JSON.stringify(warnings.length > 0 ? { ...rest, warnings } : rest, null, 2)}\n`)
      } else {
        io.out(formatReport(report, sources))
        for (const warning of report.warnings) io.err(`${formatWarning(warning)}\n`)
      }
      if (!report.valid) throw new CliError(summary(report), ExitCode.failed)
    })
}

/** Validates every source and checks that no kind/name is defined twice across them. Pure. */
export function validateSources(sources: readonly ManifestSource[]): ValidationReport {
  const files: ReportFile[] = []
  const errors: ReportError[] = []
  const warnings: ReportError[] = []
  const seen = new Map<string, { file: string; documentIndex: number }>()
  for (const source of sources) {
    if ('readError' in source) {
      errors.push({ file: source.file, documentIndex: null, path: '', line: null, column: null, message: source.readError })
      files.push({ file: source.file, valid: false, manifests: [], errorCount: 1 })
      continue
    }
    const result = parseManifests(source.text, source.file)
    const fileErrors: ReportError[] = result.errors.map(toReportError)
    const manifests = result.manifests.map(({ documentIndex, manifest }) => ({ documentIndex, kind: manifest.kind, name: manifest.metadata.name }))
    for (const { documentIndex, manifest, line, column } of result.manifests) {
      const id = `${manifest.kind}/${manifest.metadata.name}`
      const first = seen.get(id)
      if (first) {
        const where = first.file === source.file ? `document ${first.documentIndex}` : `${first.file} (document ${first.documentIndex})`
        const message = `${manifest.kind} "${manifest.metadata.name}" is already defined in ${where}; names must be unique`
        fileErrors.push({ file: source.file, documentIndex, path: 'metadata.name', line, column, message })
      } else {
        seen.set(id, { file: source.file, documentIndex })
      }
    }
    fileErrors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
    if (result.manifests.length === 0 && result.errors.length === 0) {
      fileErrors.push({
        file: source.file,
        documentIndex: null,
        path: '',
        line: null,
        column: null,
        message: 'no manifests found (the file is empty or holds only comments)',
      })
    }
    errors.push(...fileErrors)
    warnings.push(...credentialWarnings(source.text, source.file, result.manifests))
    files.push({ file: source.file, valid: fileErrors.length === 0, manifests, errorCount: fileErrors.length })
  }
  return { valid: errors.length === 0, files, errors, warnings }
}

/** Deployments whose pullCredentials carry username and password inline, located at that field. */
export function credentialWarnings(text: string, file: string, manifests: readonly ParsedManifest[]): ReportError[] {
  const found: ReportError[] = []
  for (const { documentIndex, manifest } of manifests) {
    if (manifest.kind !== 'Deployment') continue
    const template = manifest.spec.template
    const containers: [readonly (string | number)[], PullCredentials | undefined][] = isPodTemplate(template)
      ? [
          ...(template.initContainers ?? []).map((c, i): [readonly (string | number)[], PullCredentials | undefined] => [
            ['initContainers', i],
            c.pullCredentials,
          ]),
          ...template.containers.map((c, i): [readonly (string | number)[], PullCredentials | undefined] => [['containers', i], c.pullCredentials]),
        ]
      : [[[], template.pullCredentials]]
    for (const [within, credentials] of containers) {
      if (credentials?.username === undefined && credentials?.password === undefined) continue
      const path = ['spec', 'template', ...within, 'pullCredentials']
      const at = locateInDocument(text, documentIndex, path)
      found.push({ file, documentIndex, path: formatPath(path), line: at?.line ?? null, column: at?.column ?? null, message: INLINE_CREDENTIALS })
    }
  }
  return found
}

/** A warning as a problem is printed: FILE:LINE:COLUMN: document N: FIELD: warning: ... */
export function formatWarning(warning: ReportError): string {
  return formatReportError(warning)
}

function toReportError(error: ManifestError): ReportError {
  return {
    file: error.file,
    documentIndex: error.documentIndex,
    path: error.path,
    line: error.line ?? null,
    column: error.column ?? null,
    message: error.message,
  }
}

/** The text report: one line per valid file, one line per problem, in the order given. */
export function formatReport(report: ValidationReport, sources: readonly ManifestSource[]): string {
  const lines: string[] = []
  for (const source of sources) {
    const file = report.files.find((entry) => entry.file === source.file)
    if (!file) continue
    if (file.valid) {
      const names = file.manifests.map((manifest) => `${manifest.kind} ${manifest.name}`).join(', ')
      lines.push(`${file.file}: ${file.manifests.length} ${plural(file.manifests.length, 'manifest')} valid (${names})`)
    } else {
      for (const error of report.errors.filter((entry) => entry.file === source.file)) lines.push(formatReportError(error))
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

function formatReportError(error: ReportError): string {
  if (error.documentIndex === null) return `${error.file}: ${error.message}`
  return formatManifestError({
    file: error.file,
    documentIndex: error.documentIndex,
    path: error.path,
    message: error.message,
    ...(error.line === null ? {} : { line: error.line }),
    ...(error.column === null ? {} : { column: error.column }),
  })
}

function summary(report: ValidationReport): string {
  const failed = report.files.filter((file) => !file.valid).length
  const problems = report.errors.length
  return `${problems} ${plural(problems, 'problem')} in ${failed} of ${report.files.length} ${plural(report.files.length, 'file')}`
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`
}

async function readSource(file: string): Promise<ManifestSource> {
  try {
    const info = await stat(file)
    if (info.isDirectory()) return { file, readError: 'cannot read: it is a directory (pass the files inside it, e.g. dir/*.yaml)' }
    if (info.size > MAX_BYTES.manifest)
      return { file, readError: `cannot read: ${info.size} bytes is over the ${MAX_BYTES.manifest}-byte limit for a manifest file` }
    return { file, text: await readFile(file, 'utf8') }
  } catch (error) {
    return { file, readError: `cannot read: ${describeFsError(error)}` }
  }
}

async function readStdinSource(io: CliIo, deps: ValidateDeps): Promise<ManifestSource> {
  if (process.stdin.isTTY && deps === defaultDeps) io.err('reading manifests from standard input (end with Ctrl-D)\n')
  try {
    const text = await deps.readStdin()
    if (Buffer.byteLength(text) > MAX_BYTES.manifest)
      return { file: STDIN_NAME, readError: `cannot read: input is over the ${MAX_BYTES.manifest}-byte limit for a manifest file` }
    return { file: STDIN_NAME, text }
  } catch (error) {
    return { file: STDIN_NAME, readError: `cannot read: ${describeFsError(error)}` }
  }
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOTDIR':
      return 'a parent of this path is not a directory'
    default:
      return (error as Error).message
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8')
}
