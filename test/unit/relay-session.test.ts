import t from 'tap'
import type { SessionEndMessage, SessionOpenedMessage } from '../../protocol/api/sessions.js'
import { SESSION_INITIAL_WINDOW_BYTES, SessionOpen, type SessionFrame, type SessionTarget } from '../../protocol/session.js'
import { generateSigningKeys, prepareSigningKey, signObject, verifyDocumentSignature } from '../../protocol/signing.js'
import { RelaySession, type SessionClient, type SessionSummary } from '../../hub/sessions/relay-session.js'
import { waitFor } from '../support/index.js'

const keys = generateSigningKeys()
const key = prepareSigningKey(keys.privateKeyPem)
const SID = 'ab'.repeat(16)
const NONCE = 'cd'.repeat(16)

/** A session wired to recorders: the frames it publishes and what the operator sees. */
function harness(target: SessionTarget, options: { answerTimeoutMs?: number; failSend?: boolean } = {}) {
  const frames: SessionFrame[] = []
  const seen: Array<SessionOpenedMessage | SessionEndMessage | { type: 'data'; stream: string; text: string } | 'pause' | 'resume'> = []
  const flushers: Array<() => void> = []
  const ended: SessionSummary[] = []
  const client: SessionClient = {
    opened: (m) => seen.push(m),
    data: (stream, bytes, flushed) => {
      seen.push({ type: 'data', stream, text: bytes.toString() })
      flushers.push(flushed)
    },
    end: (m) => seen.push(m),
    pause: () => seen.push('pause'),
    resume: () => seen.push('resume'),
  }
  const session = new RelaySession({
    sessionId: SID,
    nodeId: 'pi-1',
    user: 'admin',
    target,
    client,
    send: async (frame) => {
      if (options.failSend) throw new Error('broker gone')
      frames.push(frame)
    },
    sign: (unsigned) => signObject(unsigned, key) as SessionOpen,
    answerTimeoutMs: options.answerTimeoutMs ?? 60_000,
    onEnded: (summary) => ended.push(summary),
  })
  let nodeSeq = 0
  const fromNode = (frame: Record<string, unknown>) => session.fromNodeFrame({ sessionId: SID, seq: nodeSeq++, ...frame } as SessionFrame)
  return { session, frames, seen, flushers, ended, fromNode }
}

const shell: SessionTarget = { kind: 'exec', workload: 'web', command: ['sh'], tty: true, stdin: true }

t.test('hello, nonce, a signed open carrying the nonce, opened: the operator hears opened', async (t) => {
  const h = harness(shell)
  h.session.start()
  t.same(h.seen, ['pause'], "the operator's input waits for the node")
  t.match(h.frames, [{ kind: 'hello', seq: 0 }])
  h.fromNode({ kind: 'nonce', nonce: NONCE })
  const open = h.frames[1] as Extract<SessionFrame, { kind: 'open' }>
  t.equal(open.kind, 'open')
  t.equal(open.seq, 1)
  t.doesNotThrow(() => verifyDocumentSignature(open.open, keys.publicKey), 'signed with the hub key')
  t.match(SessionOpen.parse(open.open), { sessionId: SID, nodeId: 'pi-1', nonce: NONCE, user: 'admin', target: shell })
  h.fromNode({ kind: 'opened', opened: { container: 'shoal-web' } })
  t.same(h.seen.slice(1), [{ type: 'opened', sessionId: SID, node: 'pi-1', workload: 'web', container: 'shoal-web' }, 'resume'])
})

function opened(target: SessionTarget = shell) {
  const h = harness(target)
  h.session.start()
  h.fromNode({ kind: 'nonce', nonce: NONCE })
  h.fromNode({ kind: 'opened', opened: {} })
  h.frames.length = 0
  h.seen.length = 0
  return h
}

t.test("input goes out within the node's credit; the rest waits (and the socket pauses) for a window", async (t) => {
  const h = opened()
  h.session.fromClient({ type: 'stdin', bytes: Buffer.alloc(SESSION_INITIAL_WINDOW_BYTES + 10, 1) })
  h.session.fromClient({ type: 'eof' })
  const sent = h.frames.filter((f) => f.kind === 'data').reduce((n, f) => n + (f.kind === 'data' ? f.bytes.length : 0), 0)
  t.equal(sent, SESSION_INITIAL_WINDOW_BYTES, 'exactly the window went out')
  t.ok(
    h.frames.every((f) => f.kind !== 'data' || f.bytes.length <= 64 * 1024),
    'cut into frames of at most 64 KiB',
  )
  t.notOk(
    h.frames.some((f) => f.kind === 'eof'),
    'end-of-input waits behind the data',
  )
  t.same(h.seen, ['pause'])
  h.fromNode({ kind: 'window', bytes: 100 })
  t.match(h.frames.slice(-2), [{ kind: 'data', bytes: { length: 10 } }, { kind: 'eof' }])
  t.same(h.seen, ['pause', 'resume'])
  t.same(
    h.frames.map((f) => f.seq),
    h.frames.map((_, i) => h.frames[0]!.seq + i),
    'sequence numbers without gaps',
  )
})

t.test('output is granted back only once flushed to the operator', async (t) => {
  const h = opened()
  h.fromNode({ kind: 'data', stream: 1, bytes: Buffer.from('hello') })
  h.fromNode({ kind: 'data', stream: 2, bytes: Buffer.from('oops') })
  t.same(h.seen, [
    { type: 'data', stream: 'stdout', text: 'hello' },
    { type: 'data', stream: 'stderr', text: 'oops' },
  ])
  t.same(h.frames, [], 'no credit before the socket took the bytes')
  for (const flush of h.flushers) flush()
  t.match(h.frames, [{ kind: 'window' }])
  t.equal(
    h.frames.reduce((n, f) => n + (f.kind === 'window' ? f.bytes : 0), 0),
    9,
    'all nine bytes granted back',
  )
  h.fromNode({ kind: 'end', end: { exitCode: 3 } })
  t.same(h.seen.at(-1), { type: 'end', exitCode: 3, error: null })
  t.same(h.ended, [{ exitCode: 3, error: null, bytesIn: 0, bytesOut: 9 }])
})

t.test('a node overrunning its window, or a gap in its sequence, ends the session', async (t) => {
  const over = opened()
  for (let i = 0; i < 8; i++) over.fromNode({ kind: 'data', stream: 1, bytes: Buffer.alloc(64 * 1024) })
  t.equal(over.ended.length, 0)
  over.fromNode({ kind: 'data', stream: 1, bytes: Buffer.alloc(1) })
  t.match(over.ended, [{ error: { code: 'failed', message: /more than the flow-control window/ } }])
  t.match(over.frames.at(-1), { kind: 'close' }, 'the node is told to stop')

  const gap = opened()
  gap.session.fromNodeFrame({ kind: 'data', sessionId: SID, seq: 99, stream: 1, bytes: Buffer.from('x') })
  t.match(gap.ended, [{ error: { code: 'lost' } }])
  t.match(gap.seen.at(-1), { type: 'end', error: { code: 'lost', message: /went missing/ } })
})

t.test('no nonce in time ends with timeout; a node offline ends at once; the operator leaving closes the node side', async (t) => {
  const slow = harness(shell, { answerTimeoutMs: 20 })
  slow.session.start()
  await waitFor(() => slow.ended.length > 0, { what: 'the answer timeout' })
  t.match(slow.ended, [{ error: { code: 'timeout', message: /did not send a nonce within/ } }])

  const gone = opened()
  gone.session.nodeOffline('its broker connection closed')
  t.match(gone.seen, [{ type: 'end', error: { code: 'offline' } }])
  gone.session.nodeOffline('again')
  t.equal(gone.ended.length, 1, 'ends once')

  const left = opened()
  left.session.clientGone()
  t.match(left.frames, [{ kind: 'close', reason: 'the operator disconnected' }])
  t.same(left.seen, [], 'nothing is sent to an operator who left')
  t.match(left.ended, [{ error: { code: 'closed' } }])
})

t.test('a broker that cannot take the frame ends the session as offline', async (t) => {
  const h = harness(shell, { failSend: true })
  h.session.start()
  await waitFor(() => h.ended.length > 0, { what: 'the failed publish' })
  t.match(h.seen.at(-1), { type: 'end', error: { code: 'offline', message: /broker gone/ } })
})

t.test('resize goes to the node for a TTY exec only', async (t) => {
  const tty = opened()
  tty.session.fromClient({ type: 'resize', size: { cols: 100, rows: 30 } })
  t.match(tty.frames, [{ kind: 'resize', size: { cols: 100, rows: 30 } }])
  const plain = opened({ kind: 'cp-from', workload: 'web', path: '/x' })
  plain.session.fromClient({ type: 'resize', size: { cols: 100, rows: 30 } })
  t.same(plain.frames, [])
})
