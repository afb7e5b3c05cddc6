import type { ComposePath } from './source.js'

/**
 * Something the conversion could not carry over (`not-mapped`), or a choice it made that the
 * reader should know about (`note`), located at a key of the compose file.
 */
export interface ConvertNote {
  readonly kind: 'not-mapped' | 'note'
  /** Dotted, as compose documentation writes it: services.web.ports[1]. */
  readonly path: string
  readonly line: number | undefined
  readonly message: string
}

export function dottedPath(path: ComposePath): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('')
}

/** FILE:LINE: PATH: not mapped (WHY), or FILE:LINE: PATH: note: WHAT. */
export function formatNote(note: ConvertNote, file: string): string {
  const where = note.line === undefined ? file : `${file}:${note.line}`
  return note.kind === 'not-mapped' ? `${where}: ${note.path}: not mapped (${note.message})` : `${where}: ${note.path}: note: ${note.message}`
}

/** Collects the notes about one part of the file (a service, or the top level), with their lines. */
export class NoteTaker {
  readonly notes: ConvertNote[] = []

  constructor(
    readonly base: ComposePath,
    private readonly lineOf: (path: ComposePath) => number | undefined,
  ) {}

  notMapped(path: ComposePath, why: string): void {
    this.add('not-mapped', path, why)
  }

  note(path: ComposePath, what: string): void {
    this.add('note', path, what)
  }

  private add(kind: ConvertNote['kind'], path: ComposePath, message: string): void {
    const full = [...this.base, ...path]
    this.notes.push({ kind, path: dottedPath(full), line: this.lineOf(full), message })
  }
}
