import type { Logger } from 'pino'
import { CliError } from './io.js'

export interface RunUntilSignalOptions {
  /** Logged with the signal when stopping begins ("hub stopping"). */
  readonly stoppingMessage: string
  /** A stop that takes longer is abandoned and the process exits 1 (default 20 s). */
  readonly stopBoundMs?: number
  /** After a clean stop, whatever still holds the event loop gets this long (default 2 s). */
  readonly lingerMs?: number
  readonly exit?: (code: number) => void
}

/**
 * Waits for SIGTERM or SIGINT, then stops the daemon within a bound. A daemon must exit when
 * told to, whatever its broker is doing: a stop that hangs (a flush to a dead server) ends in
 * exit 1 with a log line, and a handle left open after a clean stop (a client library's
 * reconnect timer) cannot keep the process alive past `lingerMs`.
 */
export async function runUntilSignal(logger: Logger, stop: () => Promise<void>, options: RunUntilSignalOptions): Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  logger.info({ signal }, options.stoppingMessage)
  const boundMs = options.stopBoundMs ?? 20_000
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    stop().then(
      () => 'stopped' as const,
      (error: unknown) => error,
    ),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), boundMs)
    }),
  ])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    logger.error({ boundMs }, 'stop did not finish in time; exiting anyway')
    exit(1)
    return
  }
  if (outcome !== 'stopped') throw new CliError(`stopping failed: ${outcome instanceof Error ? outcome.message : String(outcome)}`)
  // Unreferenced: it fires only if something else still holds the loop open.
  setTimeout(() => {
    logger.warn({ lingerMs: options.lingerMs ?? 2_000 }, 'stopped, but an open handle kept the process alive; exiting')
    exit(0)
  }, options.lingerMs ?? 2_000).unref()
}
