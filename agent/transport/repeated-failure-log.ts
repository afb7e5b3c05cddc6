/**
 * Says when a connection failure is worth a warning: the first one of an outage, one whose
 * message differs from the last, and otherwise one per quiet period with how many were held
 * back. With reconnects every few hundred milliseconds, a node offline for a day would
 * otherwise write a warning per attempt to its SD card.
 */
export class RepeatedFailureLog {
  private lastMessage: string | null = null
  private lastWarnAt = 0
  private held = 0

  constructor(private readonly quietMs = 60_000) {}

  /** `warn`: log this one at warning level, saying `heldBack` similar failures were not. */
  next(message: string, monotonicMs: number): { warn: boolean; heldBack: number } {
    if (message !== this.lastMessage || monotonicMs - this.lastWarnAt >= this.quietMs) {
      const heldBack = this.held
      this.lastMessage = message
      this.lastWarnAt = monotonicMs
      this.held = 0
      return { warn: true, heldBack }
    }
    this.held += 1
    return { warn: false, heldBack: this.held }
  }

  /** The link came up: the next failure starts a new outage. */
  reset(): void {
    this.lastMessage = null
    this.held = 0
  }
}
