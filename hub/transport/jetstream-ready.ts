import type { Logger } from 'pino'

/**
 * nats.js error codes of a JetStream that does not answer yet: no responders or "not enabled"
 * (503, also while a restarted cluster elects its meta leader or a loaded server sheds API
 * requests), a request that timed out, and a request cut by a reconnect.
 */
const NOT_ANSWERING = new Set(['503', 'TIMEOUT', 'DISCONNECT'])

/** Whether `error` says JetStream is not answering (yet), as opposed to refusing what was asked. */
export function isJetStreamNotAnswering(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  return typeof code === 'string' && NOT_ANSWERING.has(code)
}

export class JetStreamNotAnsweringError extends Error {
  readonly code = 'jetstream-not-answering'
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    readonly lastError: unknown,
  ) {
    super(
      `JetStream did not answer for ${Math.round(waitedMs / 1000)} s (${what}: ${(lastError as Error)?.message ?? String(lastError)}): is nats-server running with JetStream (-js), and does a cluster have a meta leader?`,
    )
    this.name = 'JetStreamNotAnsweringError'
  }
}

export interface JetStreamWaitOptions {
  readonly logger: Pick<Logger, 'warn'>
  /** How long to keep trying before giving up (default 120 s). */
  readonly waitMs?: number
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
}

/** The first retry waits this long; each later one twice as long, up to the cap. */
const FIRST_RETRY_MS = 250
const RETRY_CAP_MS = 5_000

/**
 * Runs `attempt` until JetStream answers it: a hub started with its NATS servers (or restarted
 * under a loaded cluster) waits for JetStream instead of exiting on the first 503. A refusal of
 * what was asked (replicas the cluster cannot place, say) is thrown at once; so is silence past
 * `waitMs`, as a JetStreamNotAnsweringError that says what to check.
 */
export async function whenJetStreamAnswers<T>(what: string, attempt: () => Promise<T>, options: JetStreamWaitOptions): Promise<T> {
  const now = options.now ?? (() => performance.now())
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const waitMs = options.waitMs ?? 120_000
  const started = now()
  for (let retry = 0; ; retry++) {
    try {
      return await attempt()
    } catch (error) {
      if (!isJetStreamNotAnswering(error)) throw error
      const waited = now() - started
      if (waited >= waitMs) throw new JetStreamNotAnsweringError(what, waited, error)
      const delay = Math.min(RETRY_CAP_MS, FIRST_RETRY_MS * 2 ** retry, waitMs - waited)
      options.logger.warn(
        { code: (error as { code: string }).code, what, retryInMs: delay },
        `JetStream does not answer yet (${(error as Error).message}); retrying`,
      )
      await sleep(delay)
    }
  }
}
