import http from 'node:http'
import type { Writable } from 'node:stream'
import { type DockerEndpoint, asEngineError, failure, readAll } from './docker-engine-client.js'

/** A tar on its way into a container: write it to `body`, end it, and `accepted` says how the engine took it. */
export interface ArchiveUpload {
  readonly body: Writable
  /** Resolves on the engine's 200; rejects with its error (404 no such path, 400 not a directory or not a tar, 403 read-only). */
  readonly accepted: Promise<void>
  /** Gives up: the connection is destroyed and nothing more is written. */
  abort(): void
}

/**
 * `PUT /containers/{id}/archive` with the body streamed in (chunked), not read whole: a copy of
 * any size costs the agent only what is in flight. The engine may answer before the body ends
 * (a missing path): `accepted` rejects then, and later writes are dropped by the destroyed socket.
 */
export function uploadArchive(endpoint: DockerEndpoint, pathWithQuery: string): ArchiveUpload {
  const path = pathWithQuery.split('?')[0] ?? pathWithQuery
  const request = http.request({ ...endpoint, agent: false, method: 'PUT', path: pathWithQuery, headers: { 'Content-Type': 'application/x-tar' } })
  let settled = false
  const accepted = new Promise<void>((resolve, reject) => {
    request.once('response', (response) => {
      void readAll(response).then(
        (text) => {
          settled = true
          const status = response.statusCode ?? 0
          if (status >= 200 && status < 300) resolve()
          else {
            reject(failure('PUT', path, response.statusCode, text))
            request.destroy()
          }
        },
        (error: unknown) => reject(asEngineError(error, 'PUT', path)),
      )
    })
    request.on('error', (error) => {
      // An error after the answer (the engine hung up while we still wrote) changes nothing.
      if (!settled) reject(asEngineError(error, 'PUT', path))
    })
  })
  // Whoever awaits it handles the rejection; this keeps an unawaited one from crashing the process.
  accepted.catch(() => undefined)
  return { body: request, accepted, abort: () => request.destroy() }
}
