/** One server-sent event, after its blank line. */
export interface SseMessage {
  readonly event: string
  readonly data: string
  readonly id: string | null
}

/**
 * An incremental parser for the text/event-stream format (the WHATWG rules that matter here):
 * text arrives in arbitrary pieces, lines end in LF, CRLF or CR, `:` lines are comments, a blank
 * line dispatches the event, and several `data:` lines are joined with LF. Pure: no I/O, so the
 * console can read the stream with fetch (which, unlike EventSource, sends the bearer token).
 */
export class SseParser {
  private buffer = ''
  private event = ''
  private data: string[] = []
  private id: string | null = null
  private pendingCr = false

  /** Feeds a piece of the stream; returns the events it completed, in order. */
  push(text: string): SseMessage[] {
    const out: SseMessage[] = []
    let chunk = text
    // A CR at the end of the last piece may be the first half of a CRLF.
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1)
    this.pendingCr = false
    this.buffer += chunk
    let start = 0
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i]
      if (c !== '\n' && c !== '\r') continue
      this.line(this.buffer.slice(start, i), out)
      if (c === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true
        else if (this.buffer[i + 1] === '\n') i++
      }
      start = i + 1
    }
    this.buffer = this.buffer.slice(start)
    return out
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id })
      this.event = ''
      this.data = []
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.event = value
        break
      case 'data':
        this.data.push(value)
        break
      case 'id':
        if (!value.includes('\0')) this.id = value
        break
      default:
        // retry and unknown fields: ignored (reconnects are the console's own, with backoff).
        break
    }
  }
}
