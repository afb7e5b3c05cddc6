import { DockerEngineError } from './docker-engine-client.js'
import { RuntimeError } from './runtime.js'

type RuntimeErrorCode = RuntimeError['code']

/** Socket-level failures: the engine is down, restarting, silent, or its socket is missing or closed to us. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EPERM', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'ECONNABORTED'])

/** The engine's own words ("No such container: x") from an engine error, else the error's message. */
export function engineMessage(error: unknown): string {
  if (error instanceof Error) return error.message.trim()
  return String(error)
}

/** The HTTP status the engine answered with; undefined when it did not answer. */
export function httpStatus(error: unknown): number | undefined {
  return error instanceof DockerEngineError ? error.statusCode : undefined
}

export function isUnreachable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return (typeof code === 'string' && UNREACHABLE.has(code)) || (typeof message === 'string' && /socket hang up/i.test(message))
}

/**
 * An engine failure as a RuntimeError: unreachable → unavailable, 404 → not-found,
 * 409 → conflict, anything else → `fallback`. `what` says what we were doing ("start container abc").
 */
export function toRuntimeError(error: unknown, what: string, fallback: RuntimeErrorCode, context: Readonly<Record<string, string>> = {}): RuntimeError {
  if (error instanceof RuntimeError) return error
  const status = httpStatus(error)
  const detail = engineMessage(error)
  const withStatus = status === undefined ? context : { ...context, httpStatus: String(status) }
  if (status === undefined && isUnreachable(error)) {
    const code = String((error as { code?: unknown }).code ?? 'error')
    return new RuntimeError('unavailable', `${what}: the Docker engine is unreachable (${code}: ${detail}); is dockerd running and is its socket readable?`, {
      ...context,
      cause: code,
    })
  }
  if (status === 404) return new RuntimeError('not-found', `${what}: ${detail}`, withStatus)
  if (status === 409) return new RuntimeError('conflict', `${what}: ${detail}`, withStatus)
  return new RuntimeError(fallback, `${what}: ${detail}`, withStatus)
}
