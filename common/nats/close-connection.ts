import type { NatsConnection } from 'nats'
import type { Logger } from 'pino'

/** How long a clean drain may take before the connection is simply closed. */
export const NATS_DRAIN_BOUND_MS = 2_000
const CLOSE_BOUND_MS = 1_000

/**
 * Drains the connection (flushes what is queued, lets subscriptions finish) but never waits
 * longer than boundMs: drain() flushes to the server, and with the server down it waits for a
 * reconnect that may never come (reconnect attempts are unlimited), so shutdown would hang.
 * Past the bound it closes, which stops reconnecting and destroys the socket without a flush.
 */
export async function drainOrClose(nc: NatsConnection, logger: Logger, boundMs = NATS_DRAIN_BOUND_MS): Promise<void> {
  if (nc.isClosed()) return
  const drained = await within(
    nc.drain().then(() => true),
    boundMs,
  )
  // A drain that raced the server going away can resolve while the client goes on reconnecting
  // (and its timers keep the process alive): only a closed connection is done.
  if (drained === true && nc.isClosed()) return
  if (drained !== true)
    logger.warn({ boundMs, err: drained === 'timeout' ? undefined : drained }, 'NATS drain did not finish; closing the connection without it')
  const closed = await within(
    nc.close().then(() => true),
    CLOSE_BOUND_MS,
  )
  if (closed !== true) logger.warn({ err: closed === 'timeout' ? undefined : closed }, 'NATS close did not finish; leaving the connection behind')
}

/** The promise's value, its error, or 'timeout'; the timer never keeps the process alive. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout' | Error> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
    timer.unref()
  })
  try {
    return await Promise.race([promise.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))), timeout])
  } finally {
    clearTimeout(timer)
  }
}
