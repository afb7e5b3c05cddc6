import { DockerEngineError } from '../runtime/docker-engine-client.js'
import { SessionFailure } from './session-channel.js'

/** An engine error as the session's end: 404 not-found, 400 and 403 invalid (a path or an archive it refuses), else failed. */
export function engineFailure(error: unknown, what: string): SessionFailure {
  if (error instanceof SessionFailure) return error
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 2000)
  if (error instanceof DockerEngineError) {
    if (error.statusCode === 404) return new SessionFailure('not-found', message)
    if (error.statusCode === 400 || error.statusCode === 403) return new SessionFailure('invalid', message)
  }
  return new SessionFailure('failed', message)
}
