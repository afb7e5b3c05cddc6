import { ProtocolError } from '../../protocol/errors.js'

/** The ProtocolError `run` throws; any other error is rethrown, and no error at all fails the test. */
export function protocolFailure(run: () => unknown): ProtocolError {
  try {
    run()
  } catch (error) {
    if (error instanceof ProtocolError) return error
    throw error
  }
  throw new Error('expected a ProtocolError, but nothing was thrown')
}
