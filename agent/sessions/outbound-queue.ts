import { SESSION_MAX_DATA_BYTES } from '../../protocol/session.js'

/** One data frame's worth: a stream and at most SESSION_MAX_DATA_BYTES of it. */
export interface OutboundPiece {
  readonly stream: 1 | 2
  readonly bytes: Buffer
}

/**
 * Output waiting for credit: chunks in arrival order, taken out in frame-sized pieces (never more
 * than SESSION_MAX_DATA_BYTES, never mixing streams). Pure; the session pauses its source while
 * anything waits here, so it holds at most one read's worth.
 */
export class OutboundQueue {
  private readonly chunks: OutboundPiece[] = []
  private size = 0

  get bytes(): number {
    return this.size
  }

  get empty(): boolean {
    return this.size === 0
  }

  push(stream: 1 | 2, bytes: Buffer): void {
    if (bytes.length === 0) return
    this.chunks.push({ stream, bytes })
    this.size += bytes.length
  }

  /** Up to `max` bytes (and at most one frame's) from the head, or null when empty or max is 0. */
  take(max: number): OutboundPiece | null {
    const head = this.chunks[0]
    const limit = Math.min(Math.floor(max), SESSION_MAX_DATA_BYTES)
    if (!head || limit <= 0) return null
    if (head.bytes.length <= limit) {
      this.chunks.shift()
      this.size -= head.bytes.length
      return head
    }
    const piece = { stream: head.stream, bytes: head.bytes.subarray(0, limit) }
    this.chunks[0] = { stream: head.stream, bytes: head.bytes.subarray(limit) }
    this.size -= limit
    return piece
  }

  clear(): void {
    this.chunks.length = 0
    this.size = 0
  }
}
