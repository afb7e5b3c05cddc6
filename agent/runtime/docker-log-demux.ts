import type { LogLine } from './runtime.js'

/**
 * Turns the bytes of Docker's `GET /containers/{id}/logs` into lines.
 *
 * A non-TTY container's log is multiplexed: frames of an 8-byte header (stream byte 1 stdout,
 * 2 stderr, 3 engine error; three zero bytes; payload length, big-endian uint32) and a payload
 * holding one log message. HTTP chunks cut frames anywhere, messages may be parts of one long
 * line (Docker splits lines at 16 KiB), and with `timestamps` every message starts with an
 * RFC 3339 time and a space. A TTY container's log is the raw bytes with no frames.
 *
 * Pure: bytes in, lines out; the caller does the I/O.
 */
export interface LogDemuxOptions {
  /** False for TTY containers: no frame headers, everything is stdout. */
  readonly multiplexed: boolean
  readonly timestamps: boolean
  /** A line longer than this is emitted in pieces, so an output without newlines cannot grow memory without end. */
  readonly maxLineBytes?: number
}

export class DockerLogFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
    this.name = 'DockerLogFormatError'
  }
}

const HEADER_BYTES = 8
const NEWLINE = 0x0a
const SPACE = 0x20
/** RFC3339Nano as Docker writes it: "2024-05-01T10:20:30.123456789Z" or with an offset. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
/** Longer than any timestamp Docker writes (35 bytes with an offset and nanoseconds). */
const MAX_TIMESTAMP_BYTES = 40
const DEFAULT_MAX_LINE_BYTES = 64 * 1024

type Stream = LogLine['stream']

/** Collects the bytes of one stream's current line. */
class LineAssembler {
  private parts: Buffer[] = []
  private size = 0
  private at: string | undefined

  constructor(
    private readonly stream: Stream,
    private readonly maxLineBytes: number,
    private readonly out: LogLine[],
  ) {}

  /** `at` is the time of the message these bytes belong to; it stamps a line that starts here. */
  feed(bytes: Buffer, at: string | undefined): void {
    let start = 0
    while (start < bytes.length) {
      if (this.size === 0) this.at = at
      const newline = bytes.indexOf(NEWLINE, start)
      const end = newline === -1 ? bytes.length : newline
      this.append(bytes.subarray(start, end))
      if (newline === -1) return
      this.emit()
      start = newline + 1
    }
  }

  /** Emit whatever is left (the end of the log need not end with a newline). */
  flush(): void {
    if (this.size > 0) this.emit()
  }

  private append(bytes: Buffer): void {
    let rest = bytes
    while (this.size + rest.length > this.maxLineBytes) {
      const room = this.maxLineBytes - this.size
      this.parts.push(rest.subarray(0, room))
      this.size += room
      this.emit()
      rest = rest.subarray(room)
    }
    if (rest.length > 0) {
      this.parts.push(rest)
      this.size += rest.length
    }
  }

  private emit(): void {
    let text = Buffer.concat(this.parts, this.size).toString('utf8')
    if (text.endsWith('\r')) text = text.slice(0, -1)
    this.out.push(this.at === undefined ? { stream: this.stream, text } : { stream: this.stream, text, at: this.at })
    this.parts = []
    this.size = 0
    this.at = undefined
  }
}

export class DockerLogDemuxer {
  private readonly out: LogLine[] = []
  private readonly lines: Record<Stream, LineAssembler>
  private readonly header = Buffer.alloc(HEADER_BYTES)
  private headerFilled = 0
  private frameRemaining = 0
  private frameStream: Stream = 'stdout'
  /** Bytes held at the start of a frame until we know whether they are a timestamp. */
  private prefix: Buffer[] = []
  private prefixSize = 0
  private inPrefix = false
  private frameAt: string | undefined
  /** TTY logs: a line has begun (its timestamp, if any, is consumed). */
  private rawLineOpen = false
  private offset = 0

  constructor(private readonly options: LogDemuxOptions) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    this.lines = { stdout: new LineAssembler('stdout', max, this.out), stderr: new LineAssembler('stderr', max, this.out) }
  }

  /** Feed the next chunk; returns the lines it completed. */
  push(chunk: Uint8Array): LogLine[] {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.options.multiplexed) this.pushFrames(bytes)
    else this.pushRaw(bytes)
    this.offset += bytes.length
    return this.out.splice(0)
  }

  /** The log ended: returns the last, unterminated lines. Throws if it ended inside a frame. */
  end(): LogLine[] {
    if (this.inPrefix) this.endPrefix()
    this.lines.stdout.flush()
    this.lines.stderr.flush()
    const lines = this.out.splice(0)
    if (this.headerFilled > 0 || this.frameRemaining > 0) {
      throw new DockerLogFormatError(`the log ended inside a frame (${this.frameRemaining} payload bytes missing)`, this.offset)
    }
    return lines
  }

  private pushFrames(bytes: Buffer): void {
    let at = 0
    while (at < bytes.length) {
      if (this.frameRemaining === 0) {
        const take = Math.min(HEADER_BYTES - this.headerFilled, bytes.length - at)
        bytes.copy(this.header, this.headerFilled, at, at + take)
        this.headerFilled += take
        at += take
        if (this.headerFilled < HEADER_BYTES) return
        this.startFrame(this.offset + at - HEADER_BYTES)
        continue
      }
      const take = Math.min(this.frameRemaining, bytes.length - at)
      this.frameRemaining -= take
      this.payload(bytes.subarray(at, at + take))
      at += take
      if (this.frameRemaining === 0 && this.inPrefix) this.endPrefix()
    }
  }

  private startFrame(frameOffset: number): void {
    const streamByte = this.header[0]
    this.headerFilled = 0
    if (streamByte === undefined || streamByte > 3) {
      throw new DockerLogFormatError(
        `not a multiplexed Docker log: stream byte ${String(streamByte)} at offset ${frameOffset} (is the container a TTY?)`,
        frameOffset,
      )
    }
    // 0 (stdin) and 1 are output; 3 carries the engine's own errors ("Error grabbing logs").
    this.frameStream = streamByte === 2 || streamByte === 3 ? 'stderr' : 'stdout'
    this.frameRemaining = this.header.readUInt32BE(4)
    this.frameAt = undefined
    this.inPrefix = this.options.timestamps && this.frameRemaining > 0
    this.prefix = []
    this.prefixSize = 0
  }

  private payload(bytes: Buffer): void {
    if (!this.inPrefix) {
      this.lines[this.frameStream].feed(bytes, this.frameAt)
      return
    }
    const space = bytes.indexOf(SPACE)
    const upTo = space === -1 ? bytes.length : space + 1
    this.prefix.push(bytes.subarray(0, upTo))
    this.prefixSize += upTo
    if (space === -1 && this.prefixSize < MAX_TIMESTAMP_BYTES) return
    this.endPrefix()
    if (upTo < bytes.length) this.lines[this.frameStream].feed(bytes.subarray(upTo), this.frameAt)
  }

  /** Decide whether the frame began with a timestamp; strip it, or pass the bytes on as text. */
  private endPrefix(): void {
    this.inPrefix = false
    const prefix = Buffer.concat(this.prefix, this.prefixSize)
    this.prefix = []
    this.prefixSize = 0
    const candidate = prefix.at(-1) === SPACE ? prefix.subarray(0, -1).toString('latin1') : ''
    if (TIMESTAMP.test(candidate)) {
      this.frameAt = candidate
      return
    }
    this.lines[this.frameStream].feed(prefix, this.frameAt)
  }

  /** TTY logs: one stream, and a timestamp (when asked for) opens each line. */
  private pushRaw(bytes: Buffer): void {
    if (!this.options.timestamps) {
      this.lines.stdout.feed(bytes, undefined)
      return
    }
    let start = 0
    while (start < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, start)
      const end = newline === -1 ? bytes.length : newline + 1
      this.rawSegment(bytes.subarray(start, end))
      start = end
    }
  }

  private rawSegment(segment: Buffer): void {
    const endsLine = segment.at(-1) === NEWLINE
    // Each raw line is treated like a frame that starts there: its first bytes may be a time.
    if (!this.rawLineOpen && !this.inPrefix) {
      this.inPrefix = true
      this.frameAt = undefined
      this.frameStream = 'stdout'
    }
    if (this.inPrefix) {
      this.payload(segment)
      if (this.inPrefix && endsLine) this.endPrefix()
    } else {
      this.lines.stdout.feed(segment, this.frameAt)
    }
    this.rawLineOpen = !endsLine
  }
}
