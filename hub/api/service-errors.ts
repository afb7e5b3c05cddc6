import { AlertNotFoundError } from '../alerts/alert-monitor.js'
import { NoMatchingProfileError, UnknownProfileError } from '../../firmware-profiles/matcher.js'
import { ManifestsRefusedError } from '../deployments/read-manifests.js'
import { EnrollmentBusyError, EnrollmentThrottledError } from '../enrollment/enrollment-service.js'
import { BandwidthLabelsError } from '../fleet/node-bandwidth.js'
import { JobImmutableError } from '../jobs/job-apply.js'
import { JobNotFoundError } from '../jobs/job-service.js'
import { WorkloadNotPlacedError } from '../logs/log-targets.js'
import { RolloutActionError } from '../rollout/rollout-actions.js'
import { ConfigObjectInUseError } from '../config-objects/config-object-service.js'
import { ConfigObjectNotFoundError, CronJobNotFoundError, DeploymentNotFoundError, JoinTokenNotFoundError, NodeNotFoundError } from '../store/not-found.js'
import { TokenRefusedError } from '../store/token-repository.js'
import { ApiError, badRequest, notFound } from './http-errors.js'

/** The HTTP answer for a service's typed error; any other error is returned as it is. */
export function httpErrorOf(error: unknown): unknown {
  if (error instanceof NodeNotFoundError) return notFound(`node ${error.nodeId}`)
  if (error instanceof AlertNotFoundError) return new ApiError(404, 'not-found', error.message)
  if (error instanceof DeploymentNotFoundError) return notFound(`deployment ${error.deployment}`)
  if (error instanceof CronJobNotFoundError) return notFound(`cron job ${error.cronJob}`)
  if (error instanceof JobNotFoundError) return notFound(`job ${error.job}`)
  if (error instanceof JobImmutableError) return new ApiError(409, 'job-immutable', error.message)
  if (error instanceof JoinTokenNotFoundError) return notFound(`join token ${error.tokenId}`)
  if (error instanceof ConfigObjectNotFoundError) return notFound(`${error.kind} ${error.objectName}`)
  if (error instanceof ConfigObjectInUseError) return new ApiError(409, 'in-use', error.message)
  if (error instanceof WorkloadNotPlacedError) {
    return error.nodeId === null
      ? new ApiError(409, 'not-placed', error.message)
      : notFound(`a workload of deployment ${error.deployment} on node ${error.nodeId}`)
  }
  if (error instanceof ManifestsRefusedError) return badRequest(error.message, error.problems)
  if (error instanceof RolloutActionError) return new ApiError(409, 'rollout-conflict', error.message)
  if (error instanceof TokenRefusedError) return new ApiError(403, 'token-refused', error.message)
  if (error instanceof UnknownProfileError || error instanceof NoMatchingProfileError) return badRequest(error.message)
  if (error instanceof BandwidthLabelsError) return badRequest(error.message)
  if (error instanceof EnrollmentThrottledError) return new ApiError(429, 'too-many-failed-enrollments', error.message)
  if (error instanceof EnrollmentBusyError) return new ApiError(429, 'enrollment-rate-limited', error.message)
  return error
}

/**
 * Runs a route's call into a service and maps its typed errors onto HTTP answers (ApiErrors
 * from reading the request pass through). With `res`, a throttled or rate-limited enrollment
 * also says when to try again (Retry-After).
 */
export async function answer<T>(work: () => T | Promise<T>, res?: { setHeader(name: string, value: string): unknown }): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof EnrollmentThrottledError || error instanceof EnrollmentBusyError) res?.setHeader('Retry-After', String(error.retryAfterSeconds))
    throw httpErrorOf(error)
  }
}
