import { ProtocolError } from '../errors.js'
import { TerminalSize } from '../session.js'
import { CLIENT_STREAMS, SERVER_STREAMS } from './sessions.js'

/**
 * The binary messages of the operator's session WebSocket (protocol/api/sessions.ts), spelt once
 * for the hub, the CLI and the console: a stream byte, then the bytes (stdin, stdout, stderr), or
 * for a resize the columns and rows as two big-endian 16-bit numbers, or for end-of-input nothing.
 */
export type ClientMessage =
  | { readonly type: 'stdin'; readonly bytes: Buffer }
  | { readonly type: 'resize'; readonly size: TerminalSize }
  | { readonly type: 'eof' }

export type ServerData = { readonly stream: 'stdout' | 'stderr'; readonly bytes: Buffer }

export function encodeClientMessage(message: ClientMessage): Buffer {
  switch (message.type) {
    case 'stdin':
      return Buffer.concat([Buffer.of(CLIENT_STREAMS.stdin), message.bytes])
    case 'eof':
      return Buffer.of(CLIENT_STREAMS.eof)
    case 'resize': {
      const out = Buffer.alloc(5)
      out[0] = CLIENT_STREAMS.resize
      out.writeUInt16BE(message.size.cols, 1)
      out.writeUInt16BE(message.size.rows, 3)
      return out
    }
  }
}

/** Throws ProtocolError for an unknown stream byte or a resize of the wrong size or range. */
export function decodeClientMessage(data: Buffer): ClientMessage {
  switch (data[0]) {
    case CLIENT_STREAMS.stdin:
      return { type: 'stdin', bytes: data.subarray(1) }
    case CLIENT_STREAMS.eof:
      return { type: 'eof' }
    case CLIENT_STREAMS.resize: {
      if (data.length !== 5) throw new ProtocolError('invalid', `a resize message is 5 bytes, not ${data.length}`)
      const size = TerminalSize.safeParse({ cols: data.readUInt16BE(1), rows: data.readUInt16BE(3) })
      if (!size.success) throw new ProtocolError('invalid', 'terminal size out of range (1-1000 columns and rows)')
      return { type: 'resize', size: size.data }
    }
    default:
      throw new ProtocolError('invalid', data.length === 0 ? 'an empty session message' : `unknown client stream ${data[0]}`)
  }
}

export function encodeServerData(stream: 'stdout' | 'stderr', bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.of(SERVER_STREAMS[stream]), bytes])
}

export function decodeServerData(data: Buffer): ServerData {
  if (data[0] === SERVER_STREAMS.stdout) return { stream: 'stdout', bytes: data.subarray(1) }
  if (data[0] === SERVER_STREAMS.stderr) return { stream: 'stderr', bytes: data.subarray(1) }
  throw new ProtocolError('invalid', data.length === 0 ? 'an empty session message' : `unknown server stream ${data[0]}`)
}
