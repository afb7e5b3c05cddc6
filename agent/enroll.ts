import type { Logger } from 'pino'
import { ENROLL_PATH, EnrollmentResponse, MAX_BYTES, decodeMessage, type EnrollmentRequest } from '../protocol/index.js'
import { jitteredBackoffMs } from './transport/backoff.js'

export class EnrollmentRefusedError extends Error {
  readonly code = 'enrollment-refused'
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'EnrollmentRefusedError'
  }
}

/**
 * Asks the hub for an identity. A refusal (bad or used-up token: 4xx) is final and says why;
 * an unreachable hub is retried with jittered backoff until the signal aborts.
 */
export async function enrollWithHub(hubUrl: string, request: EnrollmentRequest, logger: Logger, signal?: AbortSignal): Promise<EnrollmentResponse> {
  const url = new URL(ENROLL_PATH, hubUrl)
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted()
    let response: Response
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request), signal: signal ?? AbortSignal.timeout(30_000) })
    } catch (error) {
      if (signal?.aborted) throw error
      const delay = jitteredBackoffMs(attempt)
      logger.warn({ err: error, url: url.toString(), retryInMs: delay }, 'hub unreachable for enrollment; retrying')
      await new Promise((resolve) => setTimeout(resolve, delay))
      continue
    }
    const text = await response.text()
    if (response.status >= 400 && response.status < 500) {
      let message = text
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text
      } catch {
        // not JSON: keep the raw text
      }
      throw new EnrollmentRefusedError(response.status, `the hub refused enrollment (${response.status}): ${message.slice(0, 500)}`)
    }
    if (!response.ok) {
      const delay = jitteredBackoffMs(attempt)
      logger.warn({ status: response.status, retryInMs: delay }, 'hub failed enrollment; retrying')
      await new Promise((resolve) => setTimeout(resolve, delay))
      continue
    }
    return decodeMessage(EnrollmentResponse, text, { maxBytes: MAX_BYTES.manifest, what: 'enrollment response' })
  }
}
