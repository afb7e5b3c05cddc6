import { SseParser } from './sse-parser'

export interface LogLine {
  readonly stream: 'stdout' | 'stderr' | 'hub'
  readonly text: string
}

export interface LogSink {
  lines(lines: readonly LogLine[]): void
  /** The stream ended: `error` when the hub or node said why. */
  end(error: string | null): void
}

/**
 * Reads a log response as it arrives and hands over whole lines. The hub answers
 * newline-delimited JSON (hub/api/logs-route.ts): `start`, then `line` records, `gap` when the
 * node dropped lines, `error` for a node that failed, and `end`; blank lines keep it alive.
 * Plain text (or chunks with a `lines` array) is read too, so a proxy or an older hub that
 * answers differently still shows something readable.
 */
export async function readLogStream(response: Response, sink: LogSink): Promise<void> {
  const reader = response.body?.getReader()
  if (!reader) {
    sink.end(null)
    return
  }
  const type = response.headers.get('content-type') ?? ''
  const decoder = new TextDecoder()
  const sse = type.includes('text/event-stream') ? new SseParser() : null
  const json = sse !== null || type.includes('json')
  let pending = ''
  let endError: string | null = null
  let ended = false

  const take = (piece: string): void => {
    if (!json) {
      sink.lines(piece.split('\n').map((text) => ({ stream: 'stdout', text })))
      return
    }
    const outcome = fromJson(piece)
    if (outcome.lines.length > 0) sink.lines(outcome.lines)
    if (outcome.error !== null) endError = outcome.error
    if (outcome.end) ended = true
  }

  for (;;) {
    const { done, value } = await reader.read()
    const text = done ? decoder.decode() : decoder.decode(value, { stream: true })
    if (sse) {
      for (const message of sse.push(text)) take(message.data)
    } else {
      pending += text
      const cut = pending.lastIndexOf('\n')
      if (cut !== -1) {
        for (const piece of pending.slice(0, cut).split('\n')) if (piece.trim() !== '' || !json) take(piece)
        pending = pending.slice(cut + 1)
      }
    }
    if (done) break
  }
  if (!sse && pending !== '') take(pending)
  sink.end(endError ?? (ended || !json ? null : 'the stream closed without an end marker'))
}

function fromJson(piece: string): { lines: LogLine[]; end: boolean; error: string | null } {
  let value: unknown
  try {
    value = JSON.parse(piece)
  } catch {
    return { lines: [{ stream: 'stdout', text: piece }], end: false, error: null }
  }
  if (typeof value !== 'object' || value === null) return { lines: [{ stream: 'stdout', text: String(value) }], end: false, error: null }
  const record = value as Record<string, unknown>
  const none = { lines: [], end: false, error: null }
  switch (record.type) {
    case 'start':
      return none
    case 'line':
      return { lines: [{ stream: record.stream === 'stderr' ? 'stderr' : 'stdout', text: String(record.text ?? '') }], end: false, error: null }
    case 'gap':
      return {
        lines: [{ stream: 'hub', text: `… ${String(record.missing)} line(s) missing here: the node dropped them (slow link or a full buffer)` }],
        end: false,
        error: null,
      }
    case 'error':
      return {
        lines: [{ stream: 'hub', text: `${record.node ? `${String(record.node)}: ` : ''}${String(record.message ?? record.code ?? 'failed')}` }],
        end: false,
        error: String(record.message ?? record.code ?? 'failed'),
      }
    case 'end':
      return { lines: [], end: true, error: null }
    default:
      break
  }
  // Older or foreign shapes: a chunk with a lines array, or one line object.
  const lines: LogLine[] = []
  const one = (item: unknown): void => {
    if (typeof item === 'string') lines.push({ stream: 'stdout', text: item })
    else if (typeof item === 'object' && item !== null) {
      const line = item as Record<string, unknown>
      const text = line.text ?? line.line
      if (typeof text === 'string') lines.push({ stream: line.stream === 'stderr' ? 'stderr' : 'stdout', text })
    }
  }
  if (Array.isArray(record.lines)) record.lines.forEach(one)
  else one(record)
  const error = typeof record.error === 'string' ? record.error : null
  return { lines, end: record.end === true, error }
}
