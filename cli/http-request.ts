import type { IncomingMessage, RequestOptions } from 'node:http'

/** What the CLI reads of an HTTP answer: the status, a header, and the body as text or as chunks. */
export interface HttpAnswer {
  readonly status: number
  readonly statusText: string
  readonly ok: boolean
  header(name: string): string | null
  text(): Promise<string>
  readonly body: AsyncIterable<Buffer>
}

export interface HttpRequest {
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  readonly signal: AbortSignal
}

/**
 * One request over node:http (node:https for https: URLs), without a keep-alive agent.
 * Not fetch: undici's first request costs a fresh CLI process about 50 ms to load, and its
 * pooled socket kept the process alive after the answer; a CLI makes one or two requests and
 * should exit as soon as it has its answer.
 */
export async function httpRequest(url: URL, request: HttpRequest): Promise<HttpAnswer> {
  const transport = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  const headers: Record<string, string | number> = { ...request.headers }
  if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body)
  const options: RequestOptions = { method: request.method, headers, agent: false, signal: request.signal }
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = transport.request(url, options, resolve)
    outgoing.on('error', reject)
    outgoing.end(request.body)
  })
  const status = response.statusCode ?? 0
  return {
    status,
    statusText: response.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    header: (name) => {
      const value = response.headers[name.toLowerCase()]
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
    },
    text: async () => {
      const chunks: Buffer[] = []
      for await (const chunk of response) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },
    body: response,
  }
}
