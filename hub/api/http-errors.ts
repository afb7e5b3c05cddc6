import type { ValidationIssue } from '../../protocol/index.js'

/** An error the API answers with: status, a stable code, a message that says what to do. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: readonly (ValidationIssue | Record<string, unknown>)[],
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not-found', `${what} not found`)
export const badRequest = (message: string, details?: ApiError['details']): ApiError => new ApiError(400, 'bad-request', message, details)

/** A handler's answer for a resource it made: sent as 201 with this body. */
export class Created {
  constructor(readonly body: unknown) {}
}

/**
 * The hub could not write its database: a full disk (SQLITE_FULL, ENOSPC) or an I/O error.
 * SQLite rolled the transaction back, so the request changed nothing that was not already
 * committed; the answer says so and what to do, instead of a bare 500.
 */
export function storageFailure(error: unknown): ApiError | null {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return null
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new ApiError(507, 'storage-full', "the hub's disk is full, so this change was not stored; free space in the hub's data directory and try again")
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') {
    return new ApiError(503, 'storage-error', `the hub could not write its database (${code}), so this change was not stored; check the hub's disk and its log`)
  }
  return null
}
