import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Logger } from 'pino'
import { ENROLL_PATH, EnrollmentResponse, MAX_BYTES, decodeMessage, type EnrollmentRequest } from '../protocol/index.js'
import type { Identity } from './store/agent-store.js'
import { jitteredBackoffMs } from './transport/backoff.js'
import { jitteredRetryAfterMs, parseRetryAfterMs } from './transport/retry-after.js'

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
 * an unreachable hub is retried with jittered backoff until the signal aborts, and a busy one
 * (429) after the Retry-After it sends, jittered (its own backoff when it sends none).
 */
export async function enrollWithHub(hubUrl: string, request: EnrollmentRequest, logger: Logger, signal?: AbortSignal): Promise<EnrollmentResponse> {
  const url = new URL(ENROLL_PATH, hubUrl)
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted()
    let response: PostResult
    try {
      response = await postJson(url, JSON.stringify(request), signal ?? AbortSignal.timeout(30_000))
    } catch (error) {
      if (signal?.aborted) throw error
      const delay = jitteredBackoffMs(attempt)
      logger.warn({ err: error, url: url.toString(), retryInMs: delay }, 'hub unreachable for enrollment; retrying')
      await new Promise((resolve) => setTimeout(resolve, delay))
      continue
    }
    const { text } = response
    if (response.status === 429) {
      const retryAfterMs = parseRetryAfterMs(response.retryAfter, Date.now())
      const delay = retryAfterMs === null ? jitteredBackoffMs(attempt) : jitteredRetryAfterMs(retryAfterMs)
      logger.warn(
        { status: 429, retryAfter: response.retryAfter ?? null, retryInMs: delay, why: errorMessageOf(text) },
        'the hub is busy taking in enrollments; retrying',
      )
      await sleep(delay, signal)
      continue
    }
    if (response.status >= 400 && response.status < 500) {
      throw new EnrollmentRefusedError(response.status, `the hub refused enrollment (${response.status}): ${errorMessageOf(text)}`)
    }
    if (response.status < 200 || response.status >= 300) {
      const delay = jitteredBackoffMs(attempt)
      logger.warn({ status: response.status, retryInMs: delay }, 'hub failed enrollment; retrying')
      await new Promise((resolve) => setTimeout(resolve, delay))
      continue
    }
    return decodeMessage(EnrollmentResponse, text, { maxBytes: MAX_BYTES.manifest, what: 'enrollment response' })
  }
}

/** The message of the hub's JSON error, or the raw text when it is not one. */
function errorMessageOf(text: string): string {
  let message = text
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text
  } catch {
    // not JSON: keep the raw text
  }
  return message.slice(0, 500)
}

/** Waits, or rejects as soon as the signal aborts (a stopping agent does not sit out a long Retry-After). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort)
      resolve()
    }, ms)
    const abort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}

interface PostResult {
  readonly status: number
  readonly text: string
  readonly retryAfter: string | undefined
}

/**
 * One POST over node:http(s). Not fetch(): fetch loads undici, which then stays in the agent's
 * memory for the rest of its life for the sake of one request (docs/benchmarks.md).
 */
function postJson(url: URL, body: string, signal: AbortSignal): Promise<PostResult> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: 'POST', signal, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        let bytes = 0
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.byteLength
          // The answer is a small JSON document; anything far larger is not the hub.
          if (bytes > MAX_BYTES.manifest) req.destroy(new Error(`enrollment response larger than ${MAX_BYTES.manifest} bytes`))
          else chunks.push(chunk)
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** The identity a node keeps from its enrollment: its id, broker login and the hub key it pins. */
export function identityFromEnrollment(response: EnrollmentResponse, enrolledAt: string): Identity {
  return {
    nodeId: response.nodeId,
    hubPublicKey: response.hubPublicKey,
    brokerUrl: response.brokerUrl,
    username: response.username,
    password: response.password,
    enrolledAt,
  }
}
