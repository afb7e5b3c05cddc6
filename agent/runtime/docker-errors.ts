import { RuntimeError } from './runtime.js'

type RuntimeErrorCode = RuntimeError['code']

/** Socket-level failures: the engine is down, restarting, or its socket is missing or closed to us. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EPERM', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'ECONNABORTED'])

interface DockerodeErrorShape {
  readonly statusCode?: number
  readonly code?: string
  readonly json?: { readonly message?: string } | string | null
  readonly message?: string
}

/** The engine's own words from a dockerode error ("No such container: x"), else the error's message. */
export function engineMessage(error: unknown): string {
  const shape = (error ?? {}) as DockerodeErrorShape
  const json = shape.json
  if (json && typeof json === 'object' && typeof json.message === 'string' && json.message !== '') return json.message.trim()
  if (typeof json === 'string' && json.trim() !== '') return json.trim()
  // dockerode's own wrapping ("(HTTP code 500) server error - ...") says nothing the status does not.
  return (shape.message ?? String(error)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim()
}

export function httpStatus(error: unknown): number | undefined {
  const status = (error as DockerodeErrorShape | null)?.statusCode
  return typeof status === 'number' ? status : undefined
}

export function isUnreachable(error: unknown): boolean {
  const shape = error as DockerodeErrorShape | null
  return (typeof shape?.code === 'string' && UNREACHABLE.has(shape.code)) || /socket hang up/i.test(shape?.message ?? '')
}

/**
 * A dockerode failure as a RuntimeError: unreachable → unavailable, 404 → not-found,
 * 409 → conflict, anything else → `fallback`. `what` says what we were doing ("start container abc").
 */
export function toRuntimeError(error: unknown, what: string, fallback: RuntimeErrorCode, context: Readonly<Record<string, string>> = {}): RuntimeError {
  if (error instanceof RuntimeError) return error
  const status = httpStatus(error)
  const detail = engineMessage(error)
  const withStatus = status === undefined ? context : { ...context, httpStatus: String(status) }
  if (status === undefined && isUnreachable(error)) {
    const code = (error as DockerodeErrorShape).code ?? 'error'
    return new RuntimeError('unavailable', `${what}: the Docker engine is unreachable (${code}: ${detail}); is dockerd running and is its socket readable?`, { ...context, cause: code })
  }
  if (status === 404) return new RuntimeError('not-found', `${what}: ${detail}`, withStatus)
  if (status === 409) return new RuntimeError('conflict', `${what}: ${detail}`, withStatus)
  return new RuntimeError(fallback, `${what}: ${detail}`, withStatus)
}
