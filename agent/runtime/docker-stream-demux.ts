/**
 * Splits the output of an attached, non-TTY exec into its streams. The engine multiplexes them:
 * frames of an 8-byte header (stream byte: 1 stdout, 2 stderr, 0 stdin echoed, 3 an engine
 * error; three zero bytes; payload length, big-endian uint32) and the payload, cut anywhere by
 * the socket's reads. Unlike DockerLogDemuxer (which makes lines), bytes stay bytes: a binary
 * stream comes out as it went in. Pure: chunks in, pieces out.
 */
export interface StreamPiece {
  /** 1 stdout, 2 stderr (the engine's own errors count as stderr). */
  readonly stream: 1 | 2
  readonly bytes: Buffer
}

const HEADER_BYTES = 8

export class StreamFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
    this.name = 'StreamFormatError'
  }
}

export class DockerStreamDemuxer {
  private readonly header = Buffer.alloc(HEADER_BYTES)
  private headerFilled = 0
  private remaining = 0
  private stream: 1 | 2 = 1
  private offset = 0

  /** The pieces of payload this chunk completes or continues, in order (a frame may come out in several). */
  push(chunk: Buffer): StreamPiece[] {
    const pieces: StreamPiece[] = []
    let at = 0
    while (at < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER_BYTES - this.headerFilled, chunk.length - at)
        chunk.copy(this.header, this.headerFilled, at, at + take)
        this.headerFilled += take
        at += take
        if (this.headerFilled < HEADER_BYTES) break
        this.headerFilled = 0
        const kind = this.header[0] as number
        if (kind > 3 || this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0)
          throw new StreamFormatError(
            `not a multiplexed stream: header ${this.header.toString('hex')} at offset ${this.offset + at - HEADER_BYTES}`,
            this.offset + at,
          )
        this.stream = kind === 2 || kind === 3 ? 2 : 1
        this.remaining = this.header.readUInt32BE(4)
        continue
      }
      const take = Math.min(this.remaining, chunk.length - at)
      pieces.push({ stream: this.stream, bytes: chunk.subarray(at, at + take) })
      this.remaining -= take
      at += take
    }
    this.offset += chunk.length
    return pieces
  }

  /** True when the bytes so far ended between frames (the stream may end here). */
  get atBoundary(): boolean {
    return this.headerFilled === 0 && this.remaining === 0
  }
}
