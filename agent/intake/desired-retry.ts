import type { Logger } from 'pino'

export interface DesiredRetryOptions {
  /** Hands a document to the intake; throws only when it could not be stored. */
  readonly take: (payload: Buffer) => void
  readonly retryMs: number
  readonly logger: Logger
}

/**
 * A desired document arrives once (the broker keeps only the latest, and sends it again only on
 * a reconnect), so one the store could not take (a full disk, an I/O error) is kept in memory
 * and offered again until it is stored or a newer one arrives. Nothing else is lost meanwhile:
 * the node keeps running what it has.
 */
export class DesiredRetry {
  private pending: Buffer | null = null
  private timer: NodeJS.Timeout | null = null
  private failures = 0

  constructor(private readonly options: DesiredRetryOptions) {}

  offer(payload: Buffer): void {
    this.cancel()
    try {
      this.options.take(payload)
      if (this.failures > 0) this.options.logger.info({ failures: this.failures }, 'stored the desired document that could not be stored before')
      this.failures = 0
    } catch (error) {
      this.failures++
      this.pending = payload
      const details = { err: error, code: (error as { code?: unknown }).code, retryInMs: this.options.retryMs, failures: this.failures }
      const message = `could not store the desired document (${error instanceof Error ? error.message : String(error)}); keeping the current one and retrying`
      // Once loudly; a disk that stays full would otherwise log an error every few seconds.
      if (this.failures === 1) this.options.logger.error(details, message)
      else this.options.logger.debug(details, message)
      this.timer = setTimeout(() => {
        const retry = this.pending
        if (retry) this.offer(retry)
      }, this.options.retryMs)
      this.timer.unref()
    }
  }

  stop(): void {
    this.cancel()
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.pending = null
  }
}
