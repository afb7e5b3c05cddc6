import http from 'node:http'
import type { Socket } from 'node:net'
import { type DockerEndpoint, DockerEngineError, asEngineError, failure, readAll } from './docker-engine-client.js'

/**
 * Starts an engine call that takes over its connection (`POST /exec/{id}/start` attached): the
 * request asks for an upgrade, the engine answers 101 and from then on the socket is the
 * command's stdin and output. Resolves with that socket, the bytes that came with the answer put
 * back in front; rejects with the engine's own words when it answers anything else (404 no such
 * exec, 409 container not running), or after `timeoutMs` without an answer.
 */
export function hijack(endpoint: DockerEndpoint, path: string, body: unknown, timeoutMs: number): Promise<Socket> {
  const what = `POST ${path}`
  const payload = Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const request = http.request({
      ...endpoint,
      // Never pooled: the socket leaves HTTP for good.
      agent: false,
      method: 'POST',
      path,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(payload.length), Connection: 'Upgrade', Upgrade: 'tcp' },
    })
    let expired = false
    request.setTimeout(timeoutMs, () => {
      expired = true
      request.destroy()
    })
    request.once('upgrade', (_response, socket, head) => {
      request.setTimeout(0)
      socket.setTimeout(0)
      if (head.length > 0) socket.unshift(head)
      resolve(socket)
    })
    request.once('response', (response) => {
      // Not upgraded: an error answer (an engine that cannot hijack would answer 200 and stream;
      // every engine since API 1.24 upgrades, so that too is refused as unexpected).
      request.setTimeout(0)
      void readAll(response).then(
        (text) =>
          reject(failure('POST', path, response.statusCode, response.statusCode === 200 ? Buffer.from('the engine did not upgrade the connection') : text)),
        (error: unknown) => reject(asEngineError(error, 'POST', path)),
      )
    })
    request.on('error', (error) => {
      if (expired) reject(new DockerEngineError(`the engine did not answer ${what} within ${timeoutMs} ms`, what, undefined, 'ETIMEDOUT', { cause: error }))
      else reject(asEngineError(error, 'POST', path))
    })
    request.end(payload)
  })
}
