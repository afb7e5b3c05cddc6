import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
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
    let response: { status: number; text: string }
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
    if (response.status >= 400 && response.status < 500) {
      let message = text
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text
      } catch {
        // not JSON: keep the raw text
      }
      throw new EnrollmentRefusedError(response.status, `the hub refused enrollment (${response.status}): ${message.slice(0, 500)}`)
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

/**
 * One POST over node:http(s). Not fetch(): fetch loads undici, which then stays in the agent's
 * memory for the rest of its life for the sake of one request (docs/benchmarks.md).
 */
function postJson(url: URL, body: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
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
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
