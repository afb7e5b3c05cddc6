/**
 * Puts one log stream's chunks back in seq order: holds early arrivals, drops duplicates and
 * anything after the end, and gives up on a missing chunk when told to (or when too many are
 * held behind it), reporting how many it skipped. Pure: the relay owns the timers.
 */
export interface SequencedChunk {
  readonly seq: number
  readonly end: boolean
}

export type SequenceOutcome = 'delivered' | 'held' | 'duplicate' | 'after-end'

export interface SequenceResult<C extends SequencedChunk> {
  readonly outcome: SequenceOutcome
  /** Chunks now in order, to hand on (the pushed one and any held ones it unblocked). */
  readonly ready: readonly C[]
  /** Chunks given up on before `ready` (never arrived). */
  readonly skipped: number
}

export class ChunkSequencer<C extends SequencedChunk> {
  private nextSeq = 0
  private readonly held = new Map<number, C>()
  /** The seq of the end chunk once seen: nothing after it exists. */
  private endSeq: number | null = null
  private done = false

  constructor(private readonly maxHeld = 64) {
    if (maxHeld < 1) throw new RangeError('maxHeld must be at least 1')
  }

  /** The seq it waits for. */
  get expected(): number {
    return this.nextSeq
  }

  /** Chunks held behind a gap. */
  get holding(): number {
    return this.held.size
  }

  /** The end chunk has been handed on. */
  get finished(): boolean {
    return this.done
  }

  push(chunk: C): SequenceResult<C> {
    if (this.done || (this.endSeq !== null && chunk.seq > this.endSeq)) return { outcome: 'after-end', ready: [], skipped: 0 }
    if (chunk.seq < this.nextSeq || this.held.has(chunk.seq)) return { outcome: 'duplicate', ready: [], skipped: 0 }
    if (chunk.end) this.endSeq = chunk.seq
    if (chunk.seq === this.nextSeq) return { outcome: 'delivered', ready: this.release(chunk), skipped: 0 }
    this.held.set(chunk.seq, chunk)
    if (this.held.size <= this.maxHeld) return { outcome: 'held', ready: [], skipped: 0 }
    // Too much waits behind one gap: the missing chunk is not coming.
    const { skipped, ready } = this.skipGap()
    return { outcome: 'delivered', ready, skipped }
  }

  /** Gives up on the chunks missing before the earliest held one; returns what that releases. */
  skipGap(): { skipped: number; ready: C[] } {
    if (this.held.size === 0) return { skipped: 0, ready: [] }
    const earliest = Math.min(...this.held.keys())
    const skipped = earliest - this.nextSeq
    this.nextSeq = earliest
    const first = this.held.get(earliest) as C
    this.held.delete(earliest)
    return { skipped, ready: this.release(first) }
  }

  private release(first: C): C[] {
    const ready = [first]
    this.nextSeq = first.seq + 1
    let last = first
    while (!last.end) {
      const next = this.held.get(this.nextSeq)
      if (next === undefined) break
      this.held.delete(next.seq)
      ready.push(next)
      this.nextSeq = next.seq + 1
      last = next
    }
    if (last.end) {
      this.done = true
      this.held.clear()
    }
    return ready
  }
}
