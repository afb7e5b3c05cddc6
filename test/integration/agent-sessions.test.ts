// The agent's session server against the real Docker engine, in-process: the test plays the hub
// (it signs opens with a key generated here and captures every frame the node publishes). One
// busybox container on host networking runs httpd on 127.0.0.1; it carries this node's label and
// the run's, and is removed when the file ends, pass or fail.
import { createHash, randomBytes } from 'node:crypto'
import { pino } from 'pino'
import t from 'tap'
import { extract, pack } from 'tar-stream'
import { DockerEngineClient, dockerEndpoint } from '../../agent/runtime/docker-engine-client.js'
import { createDockerRuntime } from '../../agent/runtime/docker-runtime.js'
import { LABEL } from '../../agent/runtime/runtime.js'
import { SessionServer } from '../../agent/sessions/session-server.js'
import type { SessionSettings } from '../../agent/sessions/session-settings.js'
import {
  SESSION_INITIAL_WINDOW_BYTES,
  SESSION_MAX_DATA_BYTES,
  type SessionEnd,
  type SessionFrame,
  type SessionTarget,
  type TerminalSize,
  decodeSessionFrame,
  encodeSessionFrame,
} from '../../protocol/session.js'
import { generateSigningKeys, signObject } from '../../protocol/signing.js'
import { TEST_RUN_LABEL, freePort, removeContainersByLabel, testImage, testRunId, waitFor } from '../support/index.js'
import { containerWorkload } from '../support/container-workload.js'

t.setTimeout(120_000)

const nodeId = `it-sessions-${randomBytes(3).toString('hex')}`
const logger = pino({ level: process.env.SHOAL_LOG_LEVEL || 'silent' })
const hubKeys = generateSigningKeys()
const runtime = await createDockerRuntime({ logger })
const port = await freePort()

t.teardown(() => removeContainersByLabel(`${LABEL.node}=${nodeId}`))
const containerId = await runtime.create({
  nodeId,
  name: `${nodeId}-web`,
  configHash: 'sessions',
  extraLabels: { [TEST_RUN_LABEL]: testRunId() },
  workload: containerWorkload({
    name: 'web',
    deployment: 'web',
    revision: 1,
    template: {
      image: testImage(),
      restartPolicy: 'never',
      network: 'host',
      command: ['sh', '-c', `mkdir -p /www && exec httpd -f -p 127.0.0.1:${port} -h /www`],
    },
  }),
})
await runtime.start(containerId)

/** One session as the hub sees it: the frames the node sent, the output, and its end. */
class HubSession {
  readonly id = randomBytes(16).toString('hex')
  readonly frames: SessionFrame[] = []
  readonly out: Buffer[] = []
  readonly err: Buffer[] = []
  end: SessionEnd | null = null
  nonce: string | null = null
  private seq = 0
  private nodeSeq = 0
  /** What the hub may still send. */
  credit = SESSION_INITIAL_WINDOW_BYTES
  dataBytes = 0

  constructor(
    private readonly hub: FakeHub,
    readonly autoGrant: boolean,
  ) {}

  took(frame: SessionFrame): void {
    if (frame.seq !== this.nodeSeq) throw new Error(`node frame ${frame.kind} numbered ${frame.seq}, expected ${this.nodeSeq}`)
    this.nodeSeq++
    this.frames.push(frame)
    if (frame.kind === 'nonce') this.nonce = frame.nonce
    if (frame.kind === 'end') this.end = frame.end
    if (frame.kind === 'window') this.credit += frame.bytes
    if (frame.kind === 'data') {
      this.dataBytes += frame.bytes.length
      ;(frame.stream === 2 ? this.err : this.out).push(frame.bytes)
      // An instant reader: credit back at once, after the node's call returns.
      if (this.autoGrant)
        setImmediate(() => this.end === null && this.send({ kind: 'window', sessionId: this.id, seq: this.nextSeq(), bytes: frame.bytes.length }))
    }
  }

  nextSeq(): number {
    return this.seq++
  }

  send(frame: SessionFrame): void {
    this.hub.server.receive(encodeSessionFrame(frame))
  }

  stdout(): string {
    return Buffer.concat(this.out).toString('utf8')
  }

  async write(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      await waitFor(() => this.credit > 0 || this.end !== null, { what: 'credit to send', timeoutMs: 30_000, intervalMs: 5 })
      if (this.end !== null) throw new Error(`the session ended while writing: ${JSON.stringify(this.end)}`)
      const size = Math.min(SESSION_MAX_DATA_BYTES, this.credit, bytes.length - at)
      this.credit -= size
      this.send({ kind: 'data', sessionId: this.id, seq: this.nextSeq(), stream: 0, bytes: bytes.subarray(at, at + size) })
      at += size
    }
  }

  eof(): void {
    this.send({ kind: 'eof', sessionId: this.id, seq: this.nextSeq() })
  }

  resize(size: TerminalSize): void {
    this.send({ kind: 'resize', sessionId: this.id, seq: this.nextSeq(), size })
  }

  close(reason: string): void {
    if (this.end !== null) return
    this.send({ kind: 'close', sessionId: this.id, seq: this.nextSeq(), reason })
  }

  ended(): Promise<SessionEnd> {
    return waitFor(() => this.end, { what: `the end of session ${this.id}`, timeoutMs: 60_000, intervalMs: 10 })
  }

  opened(): Promise<unknown> {
    return waitFor(() => this.frames.find((f) => f.kind === 'opened') ?? (this.end ? Promise.reject(new Error(JSON.stringify(this.end))) : null), {
      what: 'opened',
      intervalMs: 10,
    })
  }
}

/** Plays the hub: says hello, signs opens with its key, and routes what the node publishes to each session. */
class FakeHub {
  readonly sessions = new Map<string, HubSession>()
  settings: SessionSettings = { enabled: true, maxSessions: 8, idleMs: 600_000, maxBytesPerSecond: null }
  readonly server = new SessionServer({
    nodeId,
    engine: new DockerEngineClient({ endpoint: dockerEndpoint(undefined) }),
    containers: () => runtime.list(nodeId),
    desired: () => [],
    hubPublicKey: () => hubKeys.publicKey,
    settings: () => this.settings,
    publish: async (payload) => {
      const frame = decodeSessionFrame(payload, 'from-node')
      const session = this.sessions.get(frame.sessionId)
      if (!session) throw new Error(`a frame for a session the hub does not know: ${frame.sessionId}`)
      session.took(frame)
    },
    logger,
  })

  hello(autoGrant = true): HubSession {
    const session = new HubSession(this, autoGrant)
    this.sessions.set(session.id, session)
    session.send({ kind: 'hello', sessionId: session.id, seq: session.nextSeq() })
    return session
  }

  signedOpen(session: HubSession, target: SessionTarget, key = hubKeys.privateKeyPem): Record<string, unknown> {
    if (!session.nonce) throw new Error('no nonce yet')
    return signObject({ sessionId: session.id, nodeId, nonce: session.nonce, user: 'tester', target }, key)
  }

  open(target: SessionTarget, options: { autoGrant?: boolean } = {}): HubSession {
    const session = this.hello(options.autoGrant ?? true)
    session.send({ kind: 'open', sessionId: session.id, seq: session.nextSeq(), open: this.signedOpen(session, target) })
    return session
  }
}

const hub = new FakeHub()
t.teardown(() => hub.server.stop())
await waitFor(async () => (await runtime.list(nodeId)).some((c) => c.state === 'running'), { what: 'the container running' })
await waitFor(() => fetch(`http://127.0.0.1:${port}/`).then(() => true), { what: 'httpd answering' })

const exec = (command: string[], more: Partial<Extract<SessionTarget, { kind: 'exec' }>> = {}): SessionTarget => ({
  kind: 'exec',
  workload: 'web',
  command,
  tty: false,
  stdin: false,
  ...more,
})
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

t.test('exec: output on stdout and stderr, and the exit code', async (t) => {
  const session = hub.open(exec(['sh', '-c', 'echo hi; echo oops >&2; exit 3']))
  t.same(await session.ended(), { exitCode: 3 })
  t.equal(session.stdout(), 'hi\n')
  t.equal(Buffer.concat(session.err).toString(), 'oops\n')
  t.match(session.frames.map((f) => f.kind)[1], 'opened')
  t.match(
    session.frames.find((f) => f.kind === 'opened'),
    { opened: { container: `${nodeId}-web` } },
  )
  t.equal(hub.server.activeCount, 0, 'nothing left open')
})

t.test('exec: 5 MB through cat on stdin comes back whole', async (t) => {
  const input = randomBytes(5 * 1024 * 1024)
  const session = hub.open(exec(['cat'], { stdin: true }))
  await session.opened()
  await session.write(input)
  session.eof()
  t.same(await session.ended(), { exitCode: 0 })
  const output = Buffer.concat(session.out)
  t.equal(output.length, input.length)
  t.equal(sha256(output), sha256(input))
})

t.test('exec with a TTY follows resizes, and exit 3 ends it with 3', async (t) => {
  const session = hub.open(exec(['sh'], { tty: true, stdin: true, size: { cols: 80, rows: 24 } }))
  t.teardown(() => session.close('test over'))
  await session.opened()
  // As a person would: type once the shell's prompt shows (input typed earlier may be flushed as it sets up its line editing).
  await waitFor(() => session.stdout().includes('#'), { what: 'the prompt', intervalMs: 10 })
  await session.write(Buffer.from('busybox stty size\n'))
  await waitFor(() => /24 80/.test(session.stdout()), { what: 'the first size', intervalMs: 10 }).catch((error: Error) => {
    throw new Error(`${error.message}; the screen so far: ${JSON.stringify(session.stdout())}`)
  })
  session.resize({ cols: 132, rows: 43 })
  await session.write(Buffer.from('busybox stty size\n'))
  await waitFor(() => /43 132/.test(session.stdout()), { what: 'the new size', intervalMs: 10 }).catch((error: Error) => {
    throw new Error(`${error.message}; the screen so far: ${JSON.stringify(session.stdout())}`)
  })
  await session.write(Buffer.from('exit 3\n'))
  t.same(await session.ended(), { exitCode: 3 })
})

const file = randomBytes(700 * 1024)

function tarOf(name: string, bytes: Buffer, mode = 0o640): Promise<Buffer> {
  const archive = pack()
  archive.entry({ name, mode, size: bytes.length }, bytes)
  archive.finalize()
  const chunks: Buffer[] = []
  return new Promise((resolve, reject) => {
    archive.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
    archive.on('end', () => resolve(Buffer.concat(chunks)))
    archive.on('error', reject)
  })
}

function untar(bytes: Buffer): Promise<Map<string, { bytes: Buffer; mode: number }>> {
  const files = new Map<string, { bytes: Buffer; mode: number }>()
  const reader = extract()
  return new Promise((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
      stream.on('end', () => {
        files.set(header.name, { bytes: Buffer.concat(chunks), mode: header.mode ?? 0 })
        next()
      })
    })
    reader.on('finish', () => resolve(files))
    reader.on('error', reject)
    reader.end(bytes)
  })
}

t.test('cp-to unpacks a tar into the container, cp-from gives it back with its mode', async (t) => {
  const upload = hub.open({ kind: 'cp-to', workload: 'web', path: '/www' })
  await upload.opened()
  await upload.write(await tarOf('file.bin', file))
  upload.eof()
  t.same(await upload.ended(), { exitCode: 0 })

  const download = hub.open({ kind: 'cp-from', workload: 'web', path: '/www/file.bin' })
  t.same(await download.ended(), { exitCode: 0 })
  const files = await untar(Buffer.concat(download.out))
  t.equal(files.get('file.bin')?.bytes.length, file.length)
  t.equal(sha256(files.get('file.bin')?.bytes ?? Buffer.alloc(0)), sha256(file))
  t.equal((files.get('file.bin')?.mode ?? 0) & 0o777, 0o640)
})

t.test('cp-from a path that does not exist ends not-found; cp-to into one too', async (t) => {
  const download = hub.open({ kind: 'cp-from', workload: 'web', path: '/no/such/file' })
  t.match(await download.ended(), { error: { code: 'not-found' } })
  const upload = hub.open({ kind: 'cp-to', workload: 'web', path: '/no/such/dir' })
  await upload.opened()
  await upload.write(await tarOf('x', Buffer.from('x'))).catch(() => undefined)
  upload.eof()
  t.match(await upload.ended(), { error: { code: 'not-found' } })
})

t.test('port-forward reaches httpd in the workload (host network: the loopback) and fetches the file', async (t) => {
  const session = hub.open({ kind: 'port-forward', workload: 'web', port })
  await session.opened()
  await session.write(Buffer.from('GET /file.bin HTTP/1.0\r\nHost: x\r\n\r\n'))
  t.same(await session.ended(), { exitCode: 0 })
  const response = Buffer.concat(session.out)
  const body = response.subarray(response.indexOf('\r\n\r\n') + 4)
  t.match(response.subarray(0, 20).toString(), /^HTTP\/1\.[01] 200/)
  t.equal(sha256(body), sha256(file))
})

t.test('port-forward to a port nobody listens on ends connect-failed', async (t) => {
  const session = hub.open({ kind: 'port-forward', port: await freePort() })
  t.match(await session.ended(), { error: { code: 'connect-failed', message: /ECONNREFUSED/ } })
})

t.test('an open not signed by the pinned hub key is refused, before anything runs', async (t) => {
  const unsigned = hub.hello()
  await waitFor(() => unsigned.nonce, { what: 'nonce' })
  unsigned.send({
    kind: 'open',
    sessionId: unsigned.id,
    seq: unsigned.nextSeq(),
    open: { sessionId: unsigned.id, nodeId, nonce: unsigned.nonce, user: 'mallory', target: exec(['true']) },
  })
  t.match(await unsigned.ended(), { error: { code: 'refused', message: /no signature/ } })

  const forged = hub.hello()
  await waitFor(() => forged.nonce, { what: 'nonce' })
  forged.send({ kind: 'open', sessionId: forged.id, seq: forged.nextSeq(), open: hub.signedOpen(forged, exec(['true']), generateSigningKeys().privateKeyPem) })
  t.match(await forged.ended(), { error: { code: 'refused', message: /does not match the pinned hub key/ } })

  const tampered = hub.hello()
  await waitFor(() => tampered.nonce, { what: 'nonce' })
  const open = hub.signedOpen(tampered, exec(['true']))
  tampered.send({ kind: 'open', sessionId: tampered.id, seq: tampered.nextSeq(), open: { ...open, target: exec(['sh', '-c', 'rm -rf /www']) } })
  t.match(await tampered.ended(), { error: { code: 'refused' } })
  t.equal(hub.server.activeCount, 0)
})

t.test('a recorded open replayed is refused: its nonce is spent', async (t) => {
  const first = hub.hello()
  await waitFor(() => first.nonce, { what: 'nonce' })
  const open = hub.signedOpen(first, exec(['true']))
  first.send({ kind: 'open', sessionId: first.id, seq: first.nextSeq(), open })
  t.same(await first.ended(), { exitCode: 0 })

  // The replay, frame for frame, on the same session id once that session is over.
  const replay = new HubSession(hub, true)
  Object.assign(replay, { id: first.id })
  hub.sessions.set(first.id, replay)
  replay.send({ kind: 'hello', sessionId: first.id, seq: replay.nextSeq() })
  replay.send({ kind: 'open', sessionId: first.id, seq: replay.nextSeq(), open })
  t.match(await replay.ended(), { error: { code: 'refused', message: /nonce is not one this node issued, or it was already used/ } })
})

t.test('a gap in the hub frames ends the session as lost', async (t) => {
  const session = hub.open(exec(['cat'], { stdin: true }))
  await session.opened()
  session.nextSeq()
  await session.write(Buffer.from('after a lost frame'))
  t.match(await session.ended(), { error: { code: 'lost' } })
  t.equal(session.stdout(), '')
})

t.test("a restarted hub's close ends a session whatever its number (the count died with the hub that opened it)", async (t) => {
  const session = hub.open(exec(['sleep', '30'], { stdin: true }))
  await session.opened()
  session.nextSeq()
  session.send({ kind: 'close', sessionId: session.id, seq: 0, reason: 'the hub restarted during the session' })
  t.match(await session.ended(), { error: { code: 'closed', message: 'closed by the hub: the hub restarted during the session' } })
  t.equal(hub.server.activeCount, 0)
})

t.test('flow control: without grants the node sends its 512 KiB window and stops; each grant lets exactly that much more through', async (t) => {
  const session = hub.open(exec(['head', '-c', '3000000', '/dev/zero']), { autoGrant: false })
  await waitFor(() => session.dataBytes >= SESSION_INITIAL_WINDOW_BYTES, { what: 'the first window', intervalMs: 10 })
  t.equal(session.dataBytes, SESSION_INITIAL_WINDOW_BYTES)
  t.equal(session.end, null, 'the command waits, the session stays open')
  // The node answers a grant at once (frames are handled as they arrive): exactly that much follows.
  session.send({ kind: 'window', sessionId: session.id, seq: session.nextSeq(), bytes: 1000 })
  t.equal(session.dataBytes, SESSION_INITIAL_WINDOW_BYTES + 1000)
  session.close('test over')
  t.match(await session.ended(), { error: { code: 'closed', message: /test over/ } })
  t.equal(hub.server.activeCount, 0)
})

t.test('the profile: sessions turned off are refused as disabled; past the limit as busy; silence ends one as idle', async (t) => {
  const saved = hub.settings
  t.teardown(() => {
    hub.settings = saved
  })
  hub.settings = { ...saved, enabled: false }
  t.match(await hub.open(exec(['true'])).ended(), { error: { code: 'disabled' } })

  hub.settings = { ...saved, maxSessions: 1, idleMs: 300 }
  const first = hub.open(exec(['sleep', '30'], { stdin: true }))
  await first.opened()
  t.match(await hub.open(exec(['true'])).ended(), { error: { code: 'busy' } })
  t.match(await first.ended(), { error: { code: 'idle' } })
  t.equal(hub.server.activeCount, 0)
})

t.test('a workload the node does not run ends not-found', async (t) => {
  t.match(await hub.open(exec(['true'], { workload: 'nope' })).ended(), { error: { code: 'not-found', message: /no container for workload nope/ } })
})
