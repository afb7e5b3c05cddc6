/** Where a command writes; injected so tests can capture output without spawning. */
export interface CliIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

/** Exit codes shared by every verb: 0 success, 1 the operation failed, 2 the command was used wrongly. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** Thrown by a command to end with a one-line message and an exit code; the entry point prints it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failed,
  ) {
    super(message)
    this.name = 'CliError'
  }
}
