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
