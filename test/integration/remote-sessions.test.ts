// Remote sessions end to end: a real hub, real agents and busybox containers in the Docker
// engine, on each broker (the embedded aedes, Mosquitto and NATS with hub-generated rights), driven
// through the `shoal` CLI as an operator would: exec (exit code, stdin, 50 MB with a checksum),
// port-forward to busybox httpd (20 concurrent requests, 100 MB with a checksum), cp both ways
// with a path escape refused, `get sessions`, an `open` not signed by the hub refused by the
// node, one node's credentials kept off another's session traffic, and a TTY driven from tmux.
// Processes end by PID, containers by label, temp dirs are removed, pass or fail.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import path from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { connect as natsConnect } from 'nats'
import t, { type Test } from 'tap'
import { SessionList } from '../../protocol/api/sessions.js'
import { decodeSessionFrame, encodeSessionFrame, type SessionFrame } from '../../protocol/session.js'
import { generateSigningKeys, signObject } from '../../protocol/signing.js'
import { mqttTopic, natsSubject } from '../../protocol/topics.js'
import { profilesDirWith } from '../support/profiles.js'
import { CLI, uniqueNodeId, waitForRunning, type AgentProcess } from '../support/agent-process.js'
import { agentCredentials, enrollAgent, startNatsWithHub, startHubProcess as startExternalHub, writeBrokerConfig } from '../support/broker-fleet.js'
import { deploymentYaml, startHubAgent, startHubProcess } from '../support/hub-process.js'
import { freePort, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

const execFileAsync = promisify(execFile)
t.setTimeout(900_000)

const MB = 1024 * 1024
const image = testImage()

/** What the tests need of a hub, whichever broker it runs on. */
interface Fleet {
  readonly apiUrl: string
  readonly adminToken: string
  readonly node: AgentProcess
  readonly port: number
}

interface Run {
  readonly code: number | null
  readonly stdout: Buffer
  readonly sha256: string
  readonly stderr: string
}

/** `shoal VERB --hub --token ARGS...` as its own process; stdin from `input` (or none). Never throws on a non-zero exit. */
function shoal(fleet: Fleet, verb: string, args: readonly string[], input?: Buffer, keepStdout = true): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, verb, '--hub', fleet.apiUrl, '--token', fleet.adminToken, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SHOAL_CONFIG: '/nonexistent/shoal-config.yaml' },
    })
    const hash = createHash('sha256')
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      if (keepStdout) out.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), sha256: hash.digest('hex'), stderr: err }))
    if (input) child.stdin.end(input)
    else child.stdin.end()
  })
}

/** A web server on 127.0.0.1:port (host network) with a small index and a 100 MB file with its checksum beside it. */
function webTemplate(port: number): Record<string, unknown> {
  const script = [
    'mkdir -p /www /tmp',
    'echo hello-sessions > /www/index.html',
    'head -c 104857600 /dev/urandom > /www/big',
    "sha256sum /www/big | cut -d' ' -f1 > /www/big.sha",
    "trap 'exit 0' TERM",
    `httpd -f -p 127.0.0.1:${port} -h /www & wait`,
  ].join(' && ')
  return { image, command: ['sh', '-c', script], restartPolicy: 'always', network: 'host' }
}

async function deployWeb(apply: (yaml: string) => Promise<unknown>, name: string, nodeId: string, port: number): Promise<void> {
  await apply(deploymentYaml(name, { mode: 'every-node', selector: { matchLabels: { session: nodeId } }, template: webTemplate(port) }))
  await waitForRunning(nodeId, [name], 120_000)
}

/** Checks the non-interactive exec: exit code, both streams, stdin, a refusal, and 50 MB with a checksum. */
async function execChecks(t: Test, fleet: Fleet, deployment: string): Promise<void> {
  const simple = await shoal(fleet, 'exec', [deployment, '--', 'sh', '-c', 'echo out-line; echo err-line >&2; exit 7'])
  t.equal(simple.code, 7, 'shoal exec exits with the remote exit code')
  t.equal(simple.stdout.toString(), 'out-line\n', 'stdout came back')
  t.match(simple.stderr, /err-line/, 'stderr came back on stderr')

  const piped = await shoal(fleet, 'exec', ['-i', deployment, '--', 'sh', '-c', 'cat; exit 0'], Buffer.from('through stdin\n'))
  t.equal(piped.code, 0)
  t.equal(piped.stdout.toString(), 'through stdin\n', 'stdin piped in reached the command and came back')

  const refused = await shoal(fleet, 'exec', ['no-such-deployment', '--', 'true'])
  t.equal(refused.code, 1, 'a refusal exits 1')
  t.match(refused.stderr, /no deployment named no-such-deployment/, 'and says why on stderr')

  // 50 MB out; the remote side's own checksum goes to stderr once the bytes are out.
  const big = await shoal(
    fleet,
    'exec',
    [deployment, '--', 'sh', '-c', 'head -c 52428800 /dev/urandom > /tmp/fifty && cat /tmp/fifty && sha256sum /tmp/fifty >&2 && rm /tmp/fifty'],
    undefined,
    false,
  )
  t.equal(big.code, 0, `50 MB exec exited 0 (${big.stderr.slice(0, 300)})`)
  t.equal(big.sha256, /^([0-9a-f]{64})/m.exec(big.stderr)?.[1], "50 MB of output arrived intact: the local checksum is the container's")
}

/** GET through the tunnel: status and body. */
function get(port: number, urlPath: string, hash = false): Promise<{ status: number; body: string; sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      const digest = createHash('sha256')
      let body = ''
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (hash) digest.update(chunk)
        else body += chunk.toString()
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sha256: digest.digest('hex'), bytes }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function startPortForward(t: Test, fleet: Fleet, args: readonly string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [CLI, 'port-forward', '--hub', fleet.apiUrl, '--token', fleet.adminToken, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SHOAL_CONFIG: '/nonexistent/shoal-config.yaml' },
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()))
  t.teardown(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
  })
  const port = await waitFor(() => Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1]) || undefined, {
    what: `port-forward to print its address (stderr: ${err})`,
    timeoutMs: 30_000,
  })
  return { child, port }
}

const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

t.test('embedded broker', async (t) => {
  const hub = await startHubProcess(t)
  const nodeName = uniqueNodeId('rs')
  const agent = await startHubAgent(t, hub, { name: nodeName, labels: { session: nodeName } })
  const port = await freePort()
  await deployWeb((yaml) => hub.apply(yaml), 'web', agent.nodeId, port)
  const fleet: Fleet = { apiUrl: hub.apiUrl, adminToken: hub.adminToken, node: agent, port }
  // The 100 MB file is written by the container's start script: wait for its checksum.
  await waitFor(async () => (await shoal(fleet, 'exec', ['web', '--', 'cat', '/www/big.sha'])).stdout.toString().trim().length === 64 || undefined, {
    what: 'the web container to write its 100 MB file',
    timeoutMs: 120_000,
    intervalMs: 1_000,
  })

  await t.test('exec: exit code, stdin, a refusal, 50 MB with a checksum', (t) => execChecks(t, fleet, 'web'))

  await t.test('port-forward to busybox httpd: 20 concurrent requests and 100 MB with a checksum', async (t) => {
    const { child, port: local } = await startPortForward(t, fleet, ['web', `:${port}`])
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(local, '/index.html')))
    t.same(
      answers.map((a) => `${a.status} ${a.body}`),
      Array.from({ length: 20 }, () => '200 hello-sessions\n'),
      '20 concurrent requests through the tunnel, all correct',
    )
    const expected = (await get(local, '/big.sha')).body.trim()
    const big = await get(local, '/big', true)
    t.equal(big.bytes, 100 * MB, '100 MB came through')
    t.equal(big.sha256, expected, 'and its checksum matches the one made in the container')
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    process.kill(child.pid as number, 'SIGINT')
    t.equal(await exited, 0, 'port-forward ends cleanly on SIGINT')
  })

  await t.test('cp: a 10 MB file and a directory round trip with modes; escapes refused', async (t) => {
    const dir = tempDir(t, 'rs-cp')
    const file = path.join(dir, 'ten.bin')
    writeFileSync(file, randomBytes(10 * MB))
    chmodSync(file, 0o640)
    const tree = path.join(dir, 'tree')
    mkdirSync(path.join(tree, 'sub'), { recursive: true })
    writeFileSync(path.join(tree, 'a.txt'), 'alpha\n')
    writeFileSync(path.join(tree, 'sub', 'run.sh'), '#!/bin/sh\necho hi\n')
    chmodSync(path.join(tree, 'sub', 'run.sh'), 0o755)

    const up = await shoal(fleet, 'cp', [file, 'web:/tmp/ten.bin'])
    t.equal(up.code, 0, `cp to the container (${up.stderr})`)
    // busybox runs its applets from sh (the image has no /bin/sha256sum link).
    const remoteSum = await shoal(fleet, 'exec', ['web', '--', 'sh', '-c', 'sha256sum /tmp/ten.bin'])
    t.equal(remoteSum.stdout.toString().split(' ')[0], sha256File(file), 'the file arrived intact')
    const back = path.join(dir, 'back.bin')
    const down = await shoal(fleet, 'cp', ['web:/tmp/ten.bin', back])
    t.equal(down.code, 0, `cp from the container (${down.stderr})`)
    t.equal(sha256File(back), sha256File(file), '10 MB round trip intact')
    t.equal(statSync(back).mode & 0o777, 0o640, 'its mode kept both ways')

    t.equal((await shoal(fleet, 'cp', [tree, 'web:/tmp/tree'])).code, 0, 'a directory into the container')
    const treeBack = path.join(dir, 'tree-back')
    t.equal((await shoal(fleet, 'cp', ['web:/tmp/tree', treeBack])).code, 0, 'and back')
    t.same(readdirSync(treeBack).sort(), ['a.txt', 'sub'], "the directory's contents went into the destination")
    t.equal(readFileSync(path.join(treeBack, 'sub', 'run.sh'), 'utf8'), '#!/bin/sh\necho hi\n')
    t.equal(statSync(path.join(treeBack, 'sub', 'run.sh')).mode & 0o777, 0o755, 'the executable bit kept')

    const dotdot = await shoal(fleet, 'cp', ['web:/tmp/../etc/passwd', path.join(dir, 'x')])
    t.equal(dotdot.code, 2, 'a container path with .. is refused before anything is sent')
    t.match(dotdot.stderr, /must not contain "\." or "\.\." segments/)
    await shoal(fleet, 'exec', ['web', '--', 'sh', '-c', 'mkdir -p /tmp/esc && ln -sf /etc /tmp/esc/link'])
    const escaped = await shoal(fleet, 'cp', ['web:/tmp/esc', path.join(dir, 'esc')])
    t.equal(escaped.code, 1, 'an archive with a link pointing out of the destination is refused')
    t.match(escaped.stderr, /refused the archive entry "esc\/link": it links to the absolute path \/etc/)
  })

  await t.test('get sessions lists them with byte counts; events and metrics count them', async (t) => {
    const listed = await shoal(fleet, 'get', ['sessions', '-o', 'json'])
    t.equal(listed.code, 0)
    const sessions = SessionList.parse(JSON.parse(listed.stdout.toString())).items
    const fifty = sessions.find((s) => s.kind === 'exec' && String(s.detail).includes('52428800'))
    t.match(fifty, { user: 'admin', node: agent.nodeId, workload: 'web', exitCode: 0, error: null })
    t.ok((fifty?.bytesOut ?? 0) >= 50 * MB, 'the 50 MB exec counted its bytes out')
    const uploaded = Math.max(...sessions.filter((s) => s.kind === 'cp-to').map((s) => s.bytesIn))
    t.ok(uploaded >= 10 * MB, 'the 10 MB upload counted its bytes in')
    t.ok(
      sessions.some((s) => s.kind === 'port-forward' && s.detail === `:${port}`),
      'port-forward sessions recorded',
    )
    const table = await shoal(fleet, 'get', ['sessions', '--node', agent.nodeId])
    t.match(table.stdout.toString(), /^ID\s+USER\s+NODE\s+KIND\s+TARGET\s+STARTED\s+DURATION\s+EXIT\s+IN\s+OUT/)
    const events = await hub.events(agent.nodeId)
    t.ok(events.some((e) => e.type === 'SessionStarted') && events.some((e) => e.type === 'SessionEnded'), 'session start and end events')
    const metrics = await hub.metricsText()
    t.match(metrics, /shoal_sessions_total\{kind="exec",outcome="completed"\} \d+/)
    await waitFor(async () => /^shoal_sessions_active 0$/m.test(await hub.metricsText()) || undefined, {
      what: 'the hub to relay no session once every client left',
      timeoutMs: 10_000,
    })
    t.pass('no session left behind on the hub once all ended (shoal_sessions_active 0)')
  })

  await t.test('a device class whose profile turns sessions off refuses them, and says so', async (t) => {
    // The operator's own profile directory: the shipped generic profile with remote sessions off.
    const profiles = profilesDirWith(t, 'generic-amd64', ['remoteSessions:', '  enabled: false'])
    const lockedName = uniqueNodeId('rsl')
    const lockedAgent = await startHubAgent(t, hub, {
      name: lockedName,
      labels: { session: lockedName },
      profile: 'generic-amd64',
      extraArgs: ['--profiles-dir', profiles],
    })
    await deployWeb((yaml) => hub.apply(yaml), 'locked', lockedAgent.nodeId, await freePort())
    const refused = await shoal(fleet, 'exec', ['locked', '--', 'true'])
    t.equal(refused.code, 1, 'the exec is refused')
    t.match(refused.stderr, /disabled/, `and the operator is told why (${refused.stderr.trim().slice(0, 200)})`)
    const open = await shoal(fleet, 'exec', ['web', '--', 'true'])
    t.equal(open.code, 0, 'the other node, on the shipped profile, still takes sessions')
    await hub.ok('DELETE', '/api/v1/deployments/locked')
  })

  await t.test('an interactive TTY from tmux: type, read the screen, resize, exit 3', async (t) => {
    const tmux = await execFileAsync('sh', ['-c', 'command -v tmux']).then(
      () => true,
      () => false,
    )
    if (!tmux) {
      t.fail('tmux is not installed (scripts/lib/packages.sh lists it)')
      return
    }
    const socket = path.join(tempDir(t, 'rs-tmux'), 'tmux.sock')
    const session = `rs${randomBytes(3).toString('hex')}`
    const codeFile = path.join(path.dirname(socket), 'code')
    const tmuxRun = (...args: string[]) => execFileAsync('tmux', ['-S', socket, ...args])
    const command = `${process.execPath} ${CLI} exec -it --hub ${fleet.apiUrl} --token ${fleet.adminToken} web -- sh; echo $? > ${codeFile}; sleep 30`
    await tmuxRun('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command)
    t.teardown(() => tmuxRun('kill-server').catch(() => undefined))
    const screen = async (): Promise<string> => (await tmuxRun('capture-pane', '-p', '-t', session)).stdout
    // capture-pane drops trailing spaces: the prompt ends the line with # or $.
    await waitFor(async () => /[#$]\s*$/m.test(await screen()) || undefined, { what: 'the remote shell prompt', timeoutMs: 30_000 }).catch(
      async (error: Error) => {
        t.comment(`the screen:\n${await screen()}`)
        throw error
      },
    )
    await tmuxRun('send-keys', '-t', session, 'echo typed-$((6*7))', 'Enter')
    await waitFor(async () => (await screen()).includes('typed-42') || undefined, { what: 'the typed command to echo', timeoutMs: 15_000 })
    t.pass('typed a command and read its output from the screen')
    await tmuxRun('send-keys', '-t', session, 'stty size', 'Enter')
    await waitFor(async () => (await screen()).includes('30 100') || undefined, { what: 'the first size', timeoutMs: 15_000 })
    await tmuxRun('resize-window', '-t', session, '-x', '120', '-y', '40')
    await tmuxRun('send-keys', '-t', session, 'stty size', 'Enter')
    await waitFor(async () => (await screen()).includes('40 120') || undefined, { what: 'the resized terminal', timeoutMs: 15_000 })
    t.pass('the remote terminal followed the resize')
    await tmuxRun('send-keys', '-t', session, 'exit 3', 'Enter')
    const code = await waitFor(
      () => {
        try {
          return readFileSync(codeFile, 'utf8').trim() || undefined
        } catch {
          return undefined
        }
      },
      { what: 'shoal exec -it to exit', timeoutMs: 15_000 },
    )
    t.equal(code, '3', '`exit 3` in the remote shell made shoal exec exit 3')
  })
  await t.test('a hub stop ends a live session with a message on both sides; a crash is closed in the audit at the next start', async (t) => {
    type Row = { detail: string; endedAt: string | null; error: string | null }
    const rows = async (): Promise<Row[]> => ((await hub.api<{ items: Row[] }>('GET', '/api/v1/sessions')).body.items ?? []) as Row[]
    const running = async (detail: string): Promise<true | undefined> =>
      (await rows()).some((r) => r.detail.includes(detail) && r.endedAt === null) || undefined

    const graceful = shoal(fleet, 'exec', ['web', '--', 'sh', '-c', 'sleep 600'])
    await waitFor(() => running('sleep 600'), { what: 'the first long session to run', timeoutMs: 30_000, intervalMs: 250 })
    t.equal((await hub.kill('SIGTERM')).code, 0, 'the hub stops cleanly with a session open')
    const first = await graceful
    t.equal(first.code, 1, 'the operator is told: exit 1')
    t.match(first.stderr, /the hub is stopping; the session ended \(closed\)/)

    await hub.start()
    const stopped = (await rows()).find((r) => r.detail.includes('sleep 600'))
    t.match(stopped, { error: /^closed: the hub is stopping/ }, 'its audit row was completed at the stop')
    t.ok(stopped?.endedAt)

    await waitFor(async () => (await shoal(fleet, 'exec', ['web', '--', 'sh', '-c', 'exit 0'])).code === 0 || undefined, {
      what: 'sessions to work again once the node is back',
      timeoutMs: 60_000,
      intervalMs: 1_000,
    })
    const crashed = shoal(fleet, 'exec', ['web', '--', 'sh', '-c', 'sleep 601'])
    await waitFor(() => running('sleep 601'), { what: 'the second long session to run', timeoutMs: 30_000, intervalMs: 250 })
    await hub.kill('SIGKILL')
    const second = await crashed
    t.equal(second.code, 1)
    // Before or after the node's `opened` reached the CLI: either way it says the hub went away.
    t.match(second.stderr, /the connection to the hub was lost|the hub closed the session socket/, 'a crashed hub: the CLI says the link was lost')
    await hub.start()
    t.match(
      (await rows()).find((r) => r.detail.includes('sleep 601')),
      { error: 'closed: the hub restarted during the session', endedAt: /./ },
      'the row a crash left open is closed at the next start',
    )
  })
})

/** Subscribes with `credentials` to another node's session topics and collects whatever arrives. */
async function mqttEavesdrop(url: string, credentials: { username: string; password: string }, topics: string[]) {
  const client = await mqtt.connectAsync(url, {
    username: credentials.username,
    password: credentials.password,
    clientId: credentials.username,
    reconnectPeriod: 0,
    protocolVersion: 4,
  })
  const received: string[] = []
  client.on('message', (topic) => received.push(topic))
  const granted = await client.subscribeAsync(topics, { qos: 0 })
  return { client, received, granted }
}

/** Nodes A and B enrolled on an external-broker hub, the web deployment running on A only. */
async function twoNodesWithWeb(t: Test, hub: Awaited<ReturnType<typeof startExternalHub>>, dir: string) {
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 2 })
  const nodeA = uniqueNodeId('rsa')
  const nodeB = uniqueNodeId('rsb')
  const a = await enrollAgent(t, hub, { nodeId: nodeA, dataDir: path.join(dir, 'a', 'data'), token, labels: { session: nodeA } })
  const b = await enrollAgent(t, hub, { nodeId: nodeB, dataDir: path.join(dir, 'b', 'data'), token, labels: {} })
  const port = await freePort()
  await deployWeb((yaml) => hub.api('POST', '/api/v1/manifests', yaml, 'application/yaml'), 'web', nodeA, port)
  const fleet: Fleet = { apiUrl: hub.apiUrl, adminToken: hub.adminToken, node: a, port }
  return { fleet, nodeA, nodeB, b }
}

t.test('Mosquitto', async (t) => {
  const dir = tempDir(t, 'rs-mosquitto')
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')
  await writeBrokerConfig(dataDir, 'mosquitto', authDir)
  const broker = await startMosquitto(t, {
    configLines: [
      'allow_anonymous false',
      'use_username_as_clientid true',
      'max_packet_size 1100000',
      `password_file ${authDir}/mosquitto.passwd`,
      `acl_file ${authDir}/mosquitto.acl`,
    ],
  })
  const hub = await startExternalHub(t, { dataDir, args: ['--mqtt-url', broker.url, '--broker-auth-dir', authDir, '--broker-reload-pid', String(broker.pid)] })
  const { fleet, nodeA, nodeB, b } = await twoNodesWithWeb(t, hub, dir)

  await t.test('exec: exit code, stdin, a refusal, 50 MB with a checksum', (t) => execChecks(t, fleet, 'web'))

  await t.test("node B's credentials cannot read node A's session traffic", async (t) => {
    const credsB = agentCredentials(b)
    await b.stop()
    // B's own retained desired document is the control: its arrival shows deliveries reach this client.
    const spy = await mqttEavesdrop(broker.url, credsB, [
      mqttTopic(nodeA, 'session-in'),
      mqttTopic(nodeA, 'session-out'),
      'shoal/v1/nodes/+/session-out',
      mqttTopic(nodeB, 'desired'),
    ])
    t.teardown(() => void spy.client.end(true))
    await waitFor(() => spy.received.includes(mqttTopic(nodeB, 'desired')) || undefined, { what: "B's own desired document (the control)", timeoutMs: 10_000 })
    const run = await shoal(fleet, 'exec', ['web', '--', 'sh', '-c', 'echo secret; exit 0'])
    t.equal(run.stdout.toString(), 'secret\n', 'a session ran on A meanwhile')
    t.same(
      spy.received.filter((topic) => topic !== mqttTopic(nodeB, 'desired')),
      [],
      'and B saw none of its frames, though Mosquitto granted the subscriptions (its ACL filters deliveries)',
    )
  })
})

t.test('NATS', async (t) => {
  const dir = tempDir(t, 'rs-nats')
  const { dataDir, broker, hub } = await startNatsWithHub(t, dir)
  const { fleet, nodeA, b } = await twoNodesWithWeb(t, hub, dir)
  const server = new URL(broker.url).host

  await t.test('exec: exit code, stdin, a refusal, 50 MB with a checksum', (t) => execChecks(t, fleet, 'web'))

  await t.test("node B's credentials cannot read node A's session traffic", async (t) => {
    const credsB = agentCredentials(b)
    const nc = await natsConnect({ servers: server, user: credsB.username, pass: credsB.password, reconnect: false })
    t.teardown(() => nc.close())
    const errors: string[] = []
    void (async () => {
      for await (const status of nc.status()) if (status.type === 'error') errors.push(String(status.data))
    })()
    const received: string[] = []
    for (const subject of [natsSubject(nodeA, 'session-in'), natsSubject(nodeA, 'session-out')])
      nc.subscribe(subject, {
        callback: (error, message) => {
          if (error) errors.push(error.message)
          else received.push(message.subject)
        },
      })
    await nc.flush()
    const run = await shoal(fleet, 'exec', ['web', '--', 'sh', '-c', 'echo secret; exit 0'])
    t.equal(run.stdout.toString(), 'secret\n', 'a session ran on A meanwhile')
    await waitFor(() => errors.filter((e) => /permissions violation/i.test(e)).length >= 2 || undefined, {
      what: 'nats-server to refuse both subscriptions',
      timeoutMs: 10_000,
    })
    t.same(received, [], 'B saw none of its frames')
  })

  await t.test('an open not signed by the hub, published with the broker admin (hub) rights, is refused by the node', async (t) => {
    const password = readFileSync(path.join(dataDir, 'broker-hub-password'), 'utf8').trim()
    const nc = await natsConnect({ servers: server, user: 'shoal_hub', pass: password, reconnect: false, name: 'forger' })
    t.teardown(() => nc.close())
    const sessionId = randomBytes(16).toString('hex')
    const frames: SessionFrame[] = []
    nc.subscribe(natsSubject(nodeA, 'session-out'), {
      callback: (_error, message) => {
        const frame = decodeSessionFrame(Buffer.from(message.data), 'from-node')
        if (frame.sessionId === sessionId) frames.push(frame)
      },
    })
    await nc.flush()
    nc.publish(natsSubject(nodeA, 'session-in'), encodeSessionFrame({ kind: 'hello', sessionId, seq: 0 }))
    const nonce = await waitFor(() => frames.find((f) => f.kind === 'nonce'), { what: 'the node to answer hello with a nonce', timeoutMs: 10_000 })
    const forged = signObject(
      {
        sessionId,
        nodeId: nodeA,
        nonce: nonce.kind === 'nonce' ? nonce.nonce : '',
        user: 'mallory',
        target: { kind: 'exec', workload: 'web', command: ['id'], tty: false, stdin: false },
      },
      generateSigningKeys().privateKeyPem,
    )
    nc.publish(natsSubject(nodeA, 'session-in'), encodeSessionFrame({ kind: 'open', sessionId, seq: 1, open: forged }))
    const end = await waitFor(() => frames.find((f) => f.kind === 'end'), { what: 'the node to end the forged session', timeoutMs: 10_000 })
    t.match(end, { kind: 'end', end: { error: { code: 'refused' } } }, 'refused: not signed by the pinned hub key')
    t.notOk(
      frames.some((f) => f.kind === 'opened' || f.kind === 'data'),
      'nothing ran',
    )
  })
})
