import { randomBytes } from 'node:crypto'
import t from 'tap'
import { protocolFailure } from '../support/protocol-failure.js'
import { ProtocolError } from '../../protocol/errors.js'
import {
  FrameSequence,
  RemotePath,
  SESSION_HEADER_BYTES,
  SESSION_MAX_DATA_BYTES,
  decodeSessionFrame,
  encodeSessionFrame,
  type SessionFrame,
} from '../../protocol/session.js'

const sessionId = randomBytes(16).toString('hex')

const toNode: SessionFrame[] = [
  { kind: 'hello', sessionId, seq: 0 },
  { kind: 'open', sessionId, seq: 1, open: { b: 1, a: [1, 'x'] } },
  { kind: 'data', sessionId, seq: 2, stream: 0, bytes: randomBytes(SESSION_MAX_DATA_BYTES) },
  { kind: 'window', sessionId, seq: 3, bytes: 0xffff_ffff },
  { kind: 'resize', sessionId, seq: 4, size: { cols: 120, rows: 40 } },
  { kind: 'eof', sessionId, seq: 5 },
  { kind: 'close', sessionId, seq: 0xffff_ffff, reason: 'operator pressed Ctrl-C' },
]
const fromNode: SessionFrame[] = [
  { kind: 'nonce', sessionId, seq: 0, nonce: randomBytes(16).toString('hex') },
  { kind: 'opened', sessionId, seq: 1, opened: { container: 'shoal-web' } },
  { kind: 'data', sessionId, seq: 2, stream: 2, bytes: Buffer.from('oops\n') },
  { kind: 'data', sessionId, seq: 3, stream: 1, bytes: Buffer.alloc(0) },
  { kind: 'window', sessionId, seq: 4, bytes: 65536 },
  { kind: 'end', sessionId, seq: 5, end: { exitCode: 3 } },
  { kind: 'end', sessionId, seq: 6, end: { error: { code: 'refused', message: 'not signed by the pinned hub key' } } },
]

t.test('every frame kind survives encoding in the direction it travels', async (t) => {
  for (const frame of toNode) t.same(decodeSessionFrame(encodeSessionFrame(frame), 'to-node'), frame, frame.kind)
  for (const frame of fromNode) t.same(decodeSessionFrame(encodeSessionFrame(frame), 'from-node'), frame, frame.kind)
})

t.test('the open body is canonical JSON, so the bytes a signature covers are the bytes sent', async (t) => {
  const bytes = encodeSessionFrame({ kind: 'open', sessionId, seq: 0, open: { z: 1, a: 2 } })
  t.equal(bytes.subarray(SESSION_HEADER_BYTES).toString(), '{"a":2,"z":1}')
})

t.test('a frame travelling the wrong way is refused', async (t) => {
  t.match(
    protocolFailure(() => decodeSessionFrame(encodeSessionFrame(toNode[0] as SessionFrame), 'from-node')).message,
    /a hello frame cannot travel from-node/,
  )
  t.match(protocolFailure(() => decodeSessionFrame(encodeSessionFrame(fromNode[0] as SessionFrame), 'to-node')).message, /a nonce frame cannot travel to-node/)
})

t.test('garbage, truncation and oversize are typed errors, never crashes', async (t) => {
  t.match(protocolFailure(() => decodeSessionFrame(Buffer.from('hello'), 'to-node')).message, /shorter than the 21-byte header/)
  const unknown = encodeSessionFrame({ kind: 'eof', sessionId, seq: 0 })
  unknown[0] = 99
  t.match(protocolFailure(() => decodeSessionFrame(unknown, 'to-node')).message, /unknown kind 99/)
  const window = encodeSessionFrame({ kind: 'window', sessionId, seq: 0, bytes: 1 })
  t.match(protocolFailure(() => decodeSessionFrame(window.subarray(0, window.length - 1), 'to-node')).message, /body is 4 bytes, not 3/)
  const data = encodeSessionFrame({ kind: 'data', sessionId, seq: 0, stream: 0, bytes: Buffer.from('x') })
  data[SESSION_HEADER_BYTES] = 7
  t.match(protocolFailure(() => decodeSessionFrame(data, 'to-node')).message, /unknown stream 7/)
  t.match(protocolFailure(() => decodeSessionFrame(Buffer.concat([data, randomBytes(SESSION_MAX_DATA_BYTES)]), 'to-node')).message, /exceeds/)
  const end = Buffer.concat([
    encodeSessionFrame({ kind: 'end', sessionId, seq: 0, end: {} }).subarray(0, SESSION_HEADER_BYTES),
    Buffer.from('{"exitCode":"x"}'),
  ])
  t.match(protocolFailure(() => decodeSessionFrame(end, 'from-node')).message, /invalid session end: exitCode/)
  const resize = encodeSessionFrame({ kind: 'resize', sessionId, seq: 0, size: { cols: 1, rows: 1 } })
  resize.writeUInt16BE(0, SESSION_HEADER_BYTES)
  t.match(protocolFailure(() => decodeSessionFrame(resize, 'to-node')).message, /terminal size out of range/)
  for (let i = 0; i < 2000; i++) {
    const random = randomBytes(1 + (i % 80))
    try {
      decodeSessionFrame(random, i % 2 ? 'to-node' : 'from-node')
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
    }
  }
  t.pass('2000 random payloads decoded or refused with a ProtocolError')
})

t.test('encoding refuses a caller mistake with a RangeError', async (t) => {
  t.throws(() => encodeSessionFrame({ kind: 'eof', sessionId: 'nope', seq: 0 }), RangeError)
  t.throws(() => encodeSessionFrame({ kind: 'eof', sessionId, seq: -1 }), RangeError)
  t.throws(() => encodeSessionFrame({ kind: 'data', sessionId, seq: 0, stream: 0, bytes: Buffer.alloc(SESSION_MAX_DATA_BYTES + 1) }), RangeError)
})

t.test('a frame sequence accepts the next number only', async (t) => {
  const sequence = new FrameSequence()
  t.ok(sequence.accept(0))
  t.ok(sequence.accept(1))
  t.notOk(sequence.accept(1), 'a repeat')
  t.notOk(sequence.accept(3), 'a gap')
  t.ok(sequence.accept(2))
})

t.test('remote paths cannot escape', async (t) => {
  for (const good of ['/', '/data', '/data/file.txt', '/a b/c']) t.ok(RemotePath.safeParse(good).success, good)
  for (const bad of ['data', '/data/../etc', '/./x', '/x/.', 'a\0b', '/x\0']) t.notOk(RemotePath.safeParse(bad).success, JSON.stringify(bad))
})
