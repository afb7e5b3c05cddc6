import t from 'tap'
import { decodeClientMessage, encodeServerData } from '../../protocol/api/session-messages.js'
import {
  CLIENT_STREAMS,
  SERVER_STREAMS,
  SESSION_ATTACH_PATH,
  SESSION_BEARER_PREFIX,
  SESSION_SUBPROTOCOL,
  SessionEndMessage,
} from '../../protocol/api/sessions.js'
import {
  SessionProtocolError,
  attachUrl,
  base64url,
  describeOutcome,
  eofFrame,
  readServerData,
  readServerMessage,
  resizeFrame,
  sessionSubprotocols,
  stdinFrame,
} from '../../hub/console/src/api/session-frames.js'
import * as frames from '../../hub/console/src/api/session-frames.js'

import { commandWords } from '../../hub/console/src/command-words.js'
import { duration } from '../../hub/console/src/format.js'

t.test('the console’s copies of the constants are the protocol’s', async (t) => {
  t.same(frames.CLIENT_STREAMS, CLIENT_STREAMS)
  t.same(frames.SERVER_STREAMS, SERVER_STREAMS)
  t.equal(frames.SESSION_ATTACH_PATH, SESSION_ATTACH_PATH)
  t.equal(frames.SESSION_SUBPROTOCOL, SESSION_SUBPROTOCOL)
  t.equal(frames.SESSION_BEARER_PREFIX, SESSION_BEARER_PREFIX)
})

t.test('the token rides as base64url without padding, which decodes back to it', async (t) => {
  for (const token of ['a', 'ab', 'abc', 'shoal_admin_0123456789abcdef', 'ünïcode?>>']) {
    const [session, bearer] = sessionSubprotocols(token)
    t.equal(session, 'shoal.session.v1')
    t.ok(bearer.startsWith('shoal.bearer.'))
    const encoded = bearer.slice('shoal.bearer.'.length)
    t.match(encoded, /^[A-Za-z0-9_-]*$/, `${token}: only subprotocol-safe characters`)
    t.equal(Buffer.from(encoded, 'base64url').toString('utf8'), token)
  }
  t.equal(base64url(Uint8Array.of(0xfb, 0xff)), Buffer.from([0xfb, 0xff]).toString('base64url'))
})

t.test('frames towards the node: stdin, resize (cols then rows, big-endian), end of input', async (t) => {
  t.same([...stdinFrame('é\n')], [CLIENT_STREAMS.stdin, 0xc3, 0xa9, 0x0a])
  t.same([...stdinFrame(Uint8Array.of(1, 2))], [0, 1, 2])
  const resize = Buffer.from(resizeFrame({ cols: 300, rows: 50 }))
  t.equal(resize[0], CLIENT_STREAMS.resize)
  t.equal(resize.readUInt16BE(1), 300)
  t.equal(resize.readUInt16BE(3), 50)
  t.equal(resize.length, 5)
  t.same([...eofFrame()], [CLIENT_STREAMS.eof])
})

t.test('what the console sends, the hub reads; what the hub sends, the console reads', async (t) => {
  t.same(decodeClientMessage(Buffer.from(stdinFrame('ls\r'))), { type: 'stdin', bytes: Buffer.from('ls\r') })
  t.same(decodeClientMessage(Buffer.from(resizeFrame({ cols: 1000, rows: 1 }))), { type: 'resize', size: { cols: 1000, rows: 1 } })
  t.same(decodeClientMessage(Buffer.from(eofFrame())), { type: 'eof' })
  const data = readServerData(new Uint8Array(encodeServerData('stderr', Buffer.from('oops'))))
  t.same({ stream: data.stream, text: new TextDecoder().decode(data.bytes) }, { stream: 'stderr', text: 'oops' })
})

t.test('frames from the hub: stdout and stderr; anything else is a protocol error', async (t) => {
  const out = readServerData(Uint8Array.of(SERVER_STREAMS.stdout, 52, 50).buffer)
  t.equal(out.stream, 'stdout')
  t.equal(new TextDecoder().decode(out.bytes), '42')
  t.equal(readServerData(Uint8Array.of(SERVER_STREAMS.stderr)).stream, 'stderr')
  t.throws(() => readServerData(new ArrayBuffer(0)), SessionProtocolError)
  t.throws(() => readServerData(Uint8Array.of(0, 1)), /stream 0/)
})

t.test('the hub’s messages: opened and end as the protocol writes them', async (t) => {
  const opened = { type: 'opened', sessionId: 'ab'.repeat(8), node: 'n1', workload: 'web', container: null }
  t.same(readServerMessage(JSON.stringify(opened)), opened)
  const ends: SessionEndMessage[] = [
    { type: 'end', exitCode: 3, error: null },
    { type: 'end', exitCode: null, error: { code: 'no-target', message: 'web has copies on a and b' } },
  ]
  for (const end of ends) t.same(readServerMessage(JSON.stringify(SessionEndMessage.parse(end))), end)
  t.equal(describeOutcome({ exitCode: 3, error: null }), 'exited with code 3')
  t.equal(describeOutcome({ exitCode: null, error: { code: 'offline', message: 'n1 is offline' } }), 'offline: n1 is offline')
  t.throws(() => readServerMessage('not json'), SessionProtocolError)
  t.throws(() => readServerMessage('{"type":"opened"}'), /session id/)
  t.throws(() => readServerMessage('{"type":"later"}'), /"later"/)
})

t.test('the WebSocket sits beside the page: ws for http, wss for https', async (t) => {
  t.equal(attachUrl('', { href: 'http://127.0.0.1:8080/deployments/web' }), 'ws://127.0.0.1:8080/api/v1/sessions/attach')
  t.equal(attachUrl('', { href: 'https://hub.example/nodes/a?x=1' }), 'wss://hub.example/api/v1/sessions/attach')
  t.equal(attachUrl('http://10.0.0.2:8080', { href: 'https://console.example/' }), 'ws://10.0.0.2:8080/api/v1/sessions/attach')
})

t.test('a command is words split on spaces; durations read short', async (t) => {
  t.same(commandWords('  bash   -l '), ['bash', '-l'])
  t.same(commandWords('   '), [])
  t.equal(duration(860), '0.9s')
  t.equal(duration(42_000), '42s')
  t.equal(duration(185_000), '3m 05s')
  t.equal(duration(2 * 3600_000 + 600_000), '2h 10m')
  t.equal(duration(3 * 86400_000 + 4 * 3600_000), '3d 4h')
})
