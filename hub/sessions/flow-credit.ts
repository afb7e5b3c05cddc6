import { SESSION_INITIAL_WINDOW_BYTES } from '../../protocol/session.js'

/**
 * The sender's side of credit-based flow control: bytes it may still send before the receiver
 * grants more with a `window` frame. Pure bookkeeping.
 */
export class SendCredit {
  private credit: number

  constructor(initial: number = SESSION_INITIAL_WINDOW_BYTES) {
    this.credit = initial
  }

  get available(): number {
    return this.credit
  }

  /** Spends `bytes`; the caller sends no more than `available`. */
  spend(bytes: number): void {
    if (bytes > this.credit) throw new RangeError(`spending ${bytes} bytes with only ${this.credit} of credit`)
    this.credit -= bytes
  }

  grant(bytes: number): void {
    this.credit += bytes
  }
}

/**
 * The receiver's side: counts bytes that arrived and were passed on, and says when to grant them
 * back (in batches, not a window frame per data frame). A sender that overruns the credit it was
 * given is caught: `received` answers false.
 */
export class ReceiveWindow {
  /** Arrived and not yet granted back (passed on or not). */
  private outstanding = 0
  /** Passed on and not yet granted. */
  private passed = 0

  constructor(
    private readonly window: number = SESSION_INITIAL_WINDOW_BYTES,
    private readonly batch: number = Math.floor(window / 8),
  ) {}

  /** Bytes arrived; false when the sender exceeded its credit. */
  received(bytes: number): boolean {
    this.outstanding += bytes
    return this.outstanding <= this.window
  }

  /** Bytes passed on (written to the socket); the credit to grant now, or 0 to wait for more. */
  passedOn(bytes: number): number {
    this.passed += bytes
    if (this.passed < this.batch && this.passed < this.outstanding) return 0
    const grant = this.passed
    this.passed = 0
    this.outstanding -= grant
    return grant
  }
}
