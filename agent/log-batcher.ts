import { MAX_CHUNK_LINES, MAX_LOG_LINE_TEXT, type LogChunk } from '../protocol/index.js'
import type { LogLine } from './runtime/runtime.js'

/**
 * Cuts a stream of log lines into chunk-sized batches: at most `maxLines` lines and about
 * `maxBytes` of JSON each, a line longer than the wire allows split into pieces. Pure: the
 * log server decides when to flush and does the sending.
 */
export type ChunkLine = LogChunk['lines'][number]

export interface LogBatchLimits {
  /** Lines per chunk, at most MAX_CHUNK_LINES. */
  readonly maxLines: number
  /** JSON bytes of the lines per chunk; one line bigger than this still travels, alone. */
  readonly maxBytes: number
}

export const DEFAULT_BATCH_LIMITS: LogBatchLimits = { maxLines: 500, maxBytes: 64 * 1024 }

/** Pieces of at most `max` UTF-16 code units, never cutting a surrogate pair in two. */
export function splitText(text: string, max = MAX_LOG_LINE_TEXT): string[] {
  if (max < 2) throw new RangeError('max must be at least 2 (one surrogate pair)')
  if (text.length <= max) return [text]
  const pieces: string[] = []
  let start = 0
  while (start < text.length) {
    let end = Math.min(start + max, text.length)
    // A high surrogate as the last unit would be separated from its low half.
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--
    pieces.push(text.slice(start, end))
    start = end
  }
  return pieces
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

/** What one line adds to a chunk's JSON: its encoding and the comma after it. */
export function lineBytes(line: ChunkLine): number {
  return Buffer.byteLength(JSON.stringify(line)) + 1
}

/** The wire form of a runtime line, split when longer than a chunk line may be. */
export function toChunkLines(line: LogLine): ChunkLine[] {
  return splitText(line.text).map((text) => (line.at === undefined ? { stream: line.stream, text } : { stream: line.stream, text, at: line.at }))
}

export class LogBatcher {
  private pending: ChunkLine[] = []
  private bytes = 0
  private readonly limits: LogBatchLimits

  constructor(limits: Partial<LogBatchLimits> = {}) {
    const maxLines = limits.maxLines ?? DEFAULT_BATCH_LIMITS.maxLines
    if (maxLines < 1 || maxLines > MAX_CHUNK_LINES) throw new RangeError(`maxLines must be between 1 and ${MAX_CHUNK_LINES}`)
    this.limits = { maxLines, maxBytes: limits.maxBytes ?? DEFAULT_BATCH_LIMITS.maxBytes }
  }

  /** Lines waiting for the next batch. */
  get size(): number {
    return this.pending.length
  }

  /** Adds a line; returns the batches it filled, in order (usually none). */
  add(line: LogLine): ChunkLine[][] {
    const full: ChunkLine[][] = []
    for (const piece of toChunkLines(line)) {
      const size = lineBytes(piece)
      if (this.pending.length > 0 && this.bytes + size > this.limits.maxBytes) full.push(this.take())
      this.pending.push(piece)
      this.bytes += size
      if (this.pending.length >= this.limits.maxLines || this.bytes >= this.limits.maxBytes) full.push(this.take())
    }
    return full
  }

  /** Everything waiting (possibly nothing), leaving the batcher empty. */
  take(): ChunkLine[] {
    const batch = this.pending
    this.pending = []
    this.bytes = 0
    return batch
  }
}
