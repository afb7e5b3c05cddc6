import type { EnrollmentRequest, EnrollmentResponse } from '../../protocol/index.js'
import type { Clock } from '../../common/clock.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import type { BrokerSyncResult } from '../broker-config/broker-access.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { HubStore } from '../store/hub-store.js'
import { TokenRefusedError } from '../store/token-repository.js'
import { EnrollmentAdmission } from './enrollment-admission.js'
import { enroll } from './enrollment.js'
import { FailedEnrollmentLimiter } from './failed-enrollments.js'

/** An address whose enrollments failed too often must wait this long before it tries again. */
export class EnrollmentThrottledError extends Error {
  constructor(
    readonly address: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`too many failed enrollments from ${address}; try again in ${retryAfterSeconds} s`)
    this.name = 'EnrollmentThrottledError'
  }
}

/** The hub is taking in an enrollment burst faster than its admission rate: try again later. */
export class EnrollmentBusyError extends Error {
  constructor(
    readonly ratePerSecond: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `the hub admits ${ratePerSecond} enrollments per second and is taking in a burst; try again in ${retryAfterSeconds} s (the hub's limit is shoal hub serve --enroll-rate)`,
    )
    this.name = 'EnrollmentBusyError'
  }
}

export interface EnrollmentServiceOptions {
  readonly store: HubStore
  readonly clock: Clock
  readonly profiles: readonly FirmwareProfile[]
  readonly hubPublicKey: string
  readonly transport: { readonly kind: 'embedded' | 'mqtt' | 'nats'; readonly advertisedUrl: string }
  readonly fleet: { requestSoon(reason: string): void }
  readonly feed: ChangeFeed
  /** Rewrites an external broker's users and rights (`--broker-auth-dir`); absent otherwise. */
  readonly brokerAccess?: { sync(reason: string): Promise<BrokerSyncResult> }
  /** Failed enrollments per address (default: 10 a minute); in memory, per hub process. */
  readonly failures?: FailedEnrollmentLimiter
  /** Enrollments admitted per second, all addresses together (default DEFAULT_ENROLL_RATE_PER_SECOND). */
  readonly admission?: EnrollmentAdmission
}

/**
 * Enrollment as a use case: refuse an address that failed too often (EnrollmentThrottledError),
 * and any enrollment beyond the admission rate (EnrollmentBusyError), enroll (see enroll()), and answer only once an external broker knows the new user, so the
 * node's first login works; then tell watchers and ask for a pass soon. A refused token, and a
 * request the API could not read (`refused`), count as failures of the address.
 */
export class EnrollmentService {
  private readonly failures: FailedEnrollmentLimiter
  private readonly admission: EnrollmentAdmission

  constructor(private readonly options: EnrollmentServiceOptions) {
    this.failures = options.failures ?? new FailedEnrollmentLimiter()
    this.admission = options.admission ?? new EnrollmentAdmission()
  }

  /** Throws EnrollmentThrottledError while this address must wait, EnrollmentBusyError while the hub is taking in a burst. */
  admit(address: string): void {
    const now = this.options.clock.now()
    const waitMs = this.failures.retryAfterMs(address, now)
    if (waitMs !== null) throw new EnrollmentThrottledError(address, Math.ceil(waitMs / 1000))
    const busyMs = this.admission.admit(now)
    if (busyMs !== null) throw new EnrollmentBusyError(this.admission.ratePerSecond, Math.max(1, Math.ceil(busyMs / 1000)))
  }

  /** A request from this address was refused before it reached enroll() (unreadable, invalid). */
  refused(address: string): void {
    this.failures.recordFailure(address, this.options.clock.now())
  }

  async enroll(request: EnrollmentRequest, address: string): Promise<EnrollmentResponse> {
    const { store, clock, profiles, hubPublicKey, transport, fleet, feed, brokerAccess } = this.options
    let response: EnrollmentResponse
    try {
      response = await enroll(request, { store, profiles, hubPublicKey, transport, now: () => clock.now() })
    } catch (error) {
      if (error instanceof TokenRefusedError) this.refused(address)
      throw error
    }
    await brokerAccess?.sync(`enrolled ${response.nodeId}`)
    feed.publish({ type: 'node', nodeId: response.nodeId, reason: 'enrolled' })
    fleet.requestSoon('enrolled')
    return response
  }
}
