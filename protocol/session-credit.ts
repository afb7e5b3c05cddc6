/**
 * Credit-based flow control of one session (protocol/session.ts): pure counters, no I/O, the
 * same on both ends (the node and the hub's relay).
 *
 * SendWindow: the bytes the peer has allowed this end to send; data goes out only within it.
 * ReceiveWindow: the bytes this end allowed the peer to send, and the grants it owes once the
 * bytes received have been written on (never before: that is what bounds every buffer).
 */

/** Credit never grows past this (the window frame's uint32 and a sane bound on a peer's grants). */
export const MAX_CREDIT_BYTES = 0xffff_ffff

export class CreditError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CreditError'
  }
}

export class SendWindow {
  private credit: number

  constructor(initialBytes: number) {
    this.credit = initialBytes
  }

  get available(): number {
    return this.credit
  }

  /** Throws CreditError when asked to spend more than is available (a caller's mistake). */
  spend(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new CreditError(`cannot spend ${bytes} bytes`)
    if (bytes > this.credit) throw new CreditError(`spending ${bytes} bytes with only ${this.credit} of credit`)
    this.credit -= bytes
  }

  /** A `window` frame's grant; false (and no change) when it would overflow MAX_CREDIT_BYTES. */
  grant(bytes: number): boolean {
    if (!Number.isInteger(bytes) || bytes < 0 || this.credit + bytes > MAX_CREDIT_BYTES) return false
    this.credit += bytes
    return true
  }
}

export class ReceiveWindow {
  /** Bytes the peer may still send. */
  private credit: number
  /** Received and not yet written on. */
  private unwritten = 0
  /** Written on and not yet granted back. */
  private owed = 0

  /** `batchBytes`: grants go in pieces of at least this much, unless everything received has been written. */
  constructor(
    initialBytes: number,
    private readonly batchBytes: number,
  ) {
    this.credit = initialBytes
  }

  get remaining(): number {
    return this.credit
  }

  get pendingWrites(): number {
    return this.unwritten
  }

  /** The peer sent `bytes`; false when that is more than its credit (it broke the protocol). */
  receive(bytes: number): boolean {
    if (bytes > this.credit) return false
    this.credit -= bytes
    this.unwritten += bytes
    return true
  }

  /** `bytes` of what was received are written on (the sink's write callback). */
  written(bytes: number): void {
    if (bytes > this.unwritten) throw new CreditError(`${bytes} bytes written, only ${this.unwritten} were received`)
    this.unwritten -= bytes
    this.owed += bytes
  }

  /** Received bytes that will never be written (the sink is gone): nothing is owed for them. */
  discard(bytes: number): void {
    this.unwritten -= Math.min(bytes, this.unwritten)
  }

  /**
   * How much to grant now (0: nothing yet), at most `limit` (the bandwidth cap's tokens): once a
   * batch is owed, or when everything received is written, so a quiet peer is not left waiting.
   */
  takeGrant(limit: number = Number.POSITIVE_INFINITY): number {
    if (this.grantDue === 0) return 0
    const grant = Math.max(0, Math.min(this.owed, Math.floor(limit)))
    this.owed -= grant
    this.credit += grant
    return grant
  }

  /** What takeGrant would grant now without a limit: the owed bytes once a batch is due, else 0. */
  get grantDue(): number {
    if (this.owed === 0 || (this.owed < this.batchBytes && this.unwritten > 0)) return 0
    return this.owed
  }
}
