/** Where a command writes; injected so tests can capture output without spawning. */
export interface CliIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

/**
 * A reader that stops early (`shoal --help | head`) closes the pipe: the rest of the output has
 * nowhere to go and is no error, so the process ends quietly with the code it has (as a tool
 * killed by SIGPIPE would, without the noise). Any other write error is left to throw.
 */
export function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    exit(typeof process.exitCode === 'number' ? process.exitCode : 0)
  })
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
