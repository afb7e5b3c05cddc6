// Logs on demand against real processes: a hub (embedded aedes broker, and NATS with
// JetStream), real agents enrolled with join tokens, and busybox containers in the Docker
// engine printing known lines to stdout and stderr. The API's NDJSON and `shoal logs` are
// checked for tail, since, follow (until the client leaves, and until its bound), a node
// that was SIGKILLed (answered at once with "offline since"), and unknown deployments.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { DockerLogDemuxer } from '../../agent/runtime/docker-log-demux.js'
import { dockerClient, startNats, testImage, waitFor, sleep } from '../support/index.js'
import { CLI, nodeContainers, uniqueNodeId, waitForRunning, type AgentProcess } from '../support/agent-process.js'
import { deploymentYaml, manifestsYaml, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'

const execFileAsync = promisify(execFile)

t.setTimeout(170_000)

interface LogRecord {
  readonly type: 'start' | 'line' | 'gap' | 'error' | 'end'
  readonly node?: string
  readonly workload?: string
  readonly stream?: 'stdout' | 'stderr'
  readonly text?: string
  readonly at?: string
  readonly code?: string
  readonly message?: string
  readonly targets?: Array<{ node: string; workload: string }>
}

/**
 * 50 numbered lines on each stream, then idle. The engine reads stdout and stderr on separate
 * pipes, so lines printed close together on the two can swap places in its log; a short pause
 * between them keeps the order almost always, and the tail test compares with the engine's own.
 */
const CHATTY = "for i in $(seq 1 50); do echo out-$i; sleep 0.03; echo err-$i >&2; sleep 0.03; done; trap 'exit 0' TERM; sleep 3600 & wait"
/** One numbered line every 200 ms, for ever. */
const TICKER = "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"

function template(image: string, script: string): Record<string, unknown> {
  return { image, command: ['sh', '-c', script], restartPolicy: 'always', network: 'host' }
}

function parseNdjson(text: string): LogRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogRecord)
}

const lines = (records: readonly LogRecord[]): LogRecord[] => records.filter((r) => r.type === 'line')
const texts = (records: readonly LogRecord[]): string[] => lines(records).map((r) => r.text ?? '')
/** Docker's nanosecond times, cut to what Date.parse reads. */
const timeOf = (at: string | undefined): number => Date.parse((at ?? '').replace(/(\.\d{3})\d+/, '$1'))
const tickNumber = (text: string | undefined): number => Number(/^tick-(\d+)$/.exec(text ?? '')?.[1] ?? Number.NaN)

/** The last `tail` lines of the workload's container as the engine itself returns them. */
async function engineTail(nodeId: string, workload: string, tail: number): Promise<string[]> {
  const container = (await nodeContainers(nodeId)).find((c) => c.workload === workload)
  if (!container) throw new Error(`no ${workload} container on ${nodeId}`)
  const body = (await dockerClient().getContainer(container.id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer
  const demuxer = new DockerLogDemuxer({ multiplexed: true, timestamps: false })
  return [...demuxer.push(body), ...demuxer.end()].map((line) => `${line.stream}:${line.text}`)
}

/** Waits until the chatty container's whole log (100 lines) is in the engine, read through the hub. */
async function chattyDone(hub: HubProcess, what: string): Promise<void> {
  await waitFor(
    async () => {
      const all = texts((await getLogs(hub, 'chatty', 'tail=10000')).records)
      return all.length === 100 && all.includes('out-50') && all.includes('err-50')
    },
    { what, timeoutMs: 60_000, intervalMs: 500 },
  )
}

/** Each stream's lines in order and ending at 50: what the tail must be, whatever the interleaving. */
function streamsEndAt50(got: readonly string[], perStream: number): boolean {
  const of = (prefix: string): string[] => got.filter((line) => line.startsWith(prefix))
  const expect = (stream: string, word: string): string[] => Array.from({ length: perStream }, (_, i) => `${stream}:${word}-${51 - perStream + i}`)
  return JSON.stringify(of('stdout:')) === JSON.stringify(expect('stdout', 'out')) && JSON.stringify(of('stderr:')) === JSON.stringify(expect('stderr', 'err'))
}

/** GET the logs (not following): status, records or the JSON error. */
async function getLogs(
  hub: HubProcess,
  deployment: string,
  query: string,
): Promise<{ status: number; records: LogRecord[]; error: { code: string; message: string } | null }> {
  const response = await hub.api<string>('GET', `/api/v1/deployments/${deployment}/logs?${query}`)
  if (response.status !== 200) {
    const body = response.body as unknown as { error: { code: string; message: string } }
    return { status: response.status, records: [], error: body.error }
  }
  return { status: 200, records: parseNdjson(response.text), error: null }
}

/** Follows a log, calling `onRecord` for each record as it comes, until the body ends or `signal` aborts. */
async function followLogs(
  hub: HubProcess,
  deployment: string,
  query: string,
  signal: AbortSignal,
  onRecord: (record: LogRecord) => void,
): Promise<'ended' | 'aborted'> {
  const response = await fetch(`${hub.apiUrl}/api/v1/deployments/${deployment}/logs?${query}`, {
    headers: { authorization: `Bearer ${hub.adminToken}` },
    signal,
  })
  if (response.status !== 200) throw new Error(`follow answered ${response.status}: ${await response.text()}`)
  const decoder = new TextDecoder()
  let pending = ''
  try {
    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(bytes, { stream: true })
      let newline: number
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline)
        pending = pending.slice(newline + 1)
        if (line.trim() !== '') onRecord(JSON.parse(line) as LogRecord)
      }
    }
  } catch (error) {
    if (signal.aborted) return 'aborted'
    throw error
  }
  return 'ended'
}

/** `shoal logs ...` as a separate process against the hub; never throws on a non-zero exit. */
async function shoalLogs(hub: HubProcess, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, 'logs', ...args, '--hub', hub.apiUrl, '--token', hub.adminToken], {
      timeout: 60_000,
      env: { ...process.env, SHOAL_CONFIG: '/nonexistent/shoal-config.yaml' },
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

/** The sum of every shoal_log_chunks_total series: chunks the hub received, whatever became of them. */
async function chunksReceived(hub: HubProcess): Promise<number> {
  const text = await hub.metricsText()
  return text
    .split('\n')
    .filter((line) => line.startsWith('shoal_log_chunks_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)
}

/** The agent's "log request ended" entries. */
function endedRequests(agent: AgentProcess): Array<Record<string, unknown>> {
  return agent.logLines('log request ended')
}

t.test('embedded broker: tail, since, follow, offline node, unknown deployment', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('logs')
  const token = await hub.createJoinToken({ maxUses: 2, ttl: '10m', labels: { fleet } })
  const ids = { a: uniqueNodeId('loga'), b: uniqueNodeId('logb') }
  const [agentA, agentB] = await Promise.all([
    startHubAgent(t, hub, { name: ids.a, token, labels: { role: 'a' } }),
    startHubAgent(t, hub, { name: ids.b, token, labels: { role: 'b' } }),
  ])
  await hub.apply(
    manifestsYaml(
      deploymentYaml('chatty', { replicas: 1, selector: { matchLabels: { fleet, role: 'a' } }, template: template(image, CHATTY) }),
      deploymentYaml('ticker', { replicas: 1, selector: { matchLabels: { fleet, role: 'a' } }, template: template(image, TICKER) }),
      deploymentYaml('everywhere', {
        mode: 'every-node',
        selector: { matchLabels: { fleet } },
        template: template(image, "echo hello-everywhere; trap 'exit 0' TERM; sleep 3600 & wait"),
      }),
    ),
  )
  await Promise.all([waitForRunning(ids.a, ['chatty', 'everywhere', 'ticker'], 90_000), waitForRunning(ids.b, ['everywhere'], 90_000)])
  await chattyDone(hub, 'chatty to print its 100 lines')

  await t.test('tail N: exactly the last N lines, in order, each on its stream', async (t) => {
    const { status, records } = await getLogs(hub, 'chatty', 'tail=10')
    t.equal(status, 200)
    t.same(records[0], { type: 'start', targets: [{ node: ids.a, workload: 'chatty' }] })
    t.same(records.at(-1), { type: 'end' })
    const got = lines(records)
    const tagged = got.map((r) => `${r.stream}:${r.text}`)
    t.same(tagged, await engineTail(ids.a, 'chatty', 10), "exactly the engine's last 10 lines, in its order")
    t.ok(streamsEndAt50(tagged, 5), `out-46..50 on stdout and err-46..50 on stderr: ${tagged.join(' ')}`)
    t.ok(
      got.every((r) => r.node === ids.a && r.workload === 'chatty' && typeof r.at === 'string'),
      'each line names its node and workload and has a time',
    )
    t.same(texts((await getLogs(hub, 'chatty', 'tail=0')).records), [], 'tail=0 is no lines')
    const all = await getLogs(hub, 'chatty', 'tail=10000')
    t.equal(lines(all.records).length, 100, 'a large tail returns the whole log')
    t.same(
      texts(all.records).filter((text) => text.startsWith('out-')),
      Array.from({ length: 50 }, (_, i) => `out-${i + 1}`),
    )
  })

  await t.test('shoal logs --tail prints stdout and stderr lines on their own streams', async (t) => {
    const result = await shoalLogs(hub, ['chatty', '--tail', '4'])
    t.equal(result.code, 0, 'exit code 0')
    const engine = await engineTail(ids.a, 'chatty', 4)
    const onStream = (stream: string): string =>
      engine
        .filter((line) => line.startsWith(`${stream}:`))
        .map((line) => `${line.slice(stream.length + 1)}\n`)
        .join('')
    t.equal(result.stdout, onStream('stdout'), 'stdout lines on stdout')
    t.equal(result.stderr, onStream('stderr'), 'stderr lines on stderr')
    t.match(result.stdout, /out-50\n$/)
    t.match(result.stderr, /err-50\n$/)
  })

  await t.test('since: the lines at or after a time, and none before', async (t) => {
    await waitFor(async () => tickNumber(texts((await getLogs(hub, 'ticker', 'tail=1')).records)[0]) >= 10, {
      what: 'ten ticks',
      timeoutMs: 20_000,
      intervalMs: 200,
    })
    const cut = new Date()
    // Until three ticks came after the cut: however long a busy machine takes to print them.
    const since = await waitFor(
      async () => {
        const answer = await getLogs(hub, 'ticker', `since=${encodeURIComponent(cut.toISOString())}`)
        return lines(answer.records).length >= 3 ? answer : undefined
      },
      { what: 'three ticks after the cut', timeoutMs: 20_000, intervalMs: 200 },
    )
    const all = await getLogs(hub, 'ticker', 'tail=10000')
    const sinceLines = lines(since.records)
    t.ok(sinceLines.length >= 3, `${sinceLines.length} ticks since the cut`)
    t.ok(
      sinceLines.every((r) => timeOf(r.at) >= cut.getTime() - 1),
      'no line from before the cut',
    )
    const expected = lines(all.records).filter((r) => timeOf(r.at) >= cut.getTime())
    t.equal(sinceLines[0]?.text, expected[0]?.text, 'the first line is the first one printed after the cut')
    const numbers = sinceLines.map((r) => tickNumber(r.text))
    t.same(
      numbers,
      numbers.map((_, i) => (numbers[0] ?? 0) + i),
      'consecutive ticks',
    )
    t.ok((numbers[0] ?? 0) > 1, 'earlier ticks left out')
    const hour = await getLogs(hub, 'ticker', 'since=1h')
    t.equal(texts(hour.records)[0], 'tick-1', 'since=1h reaches back to the first tick (no default tail with since)')
    const cli = await shoalLogs(hub, ['ticker', '--since', cut.toISOString()])
    t.equal(cli.code, 0, `exit code 0 (stderr: ${cli.stderr.trim()})`)
    t.equal(cli.stdout.split('\n')[0], sinceLines[0]?.text)
  })

  await t.test('follow: new lines as they are printed; the client leaving stops the agent', async (t) => {
    const controller = new AbortController()
    const seen: LogRecord[] = []
    const before = endedRequests(agentA).length
    const following = followLogs(hub, 'ticker', 'follow=true&tail=0', AbortSignal.any([controller.signal, AbortSignal.timeout(60_000)]), (record) => {
      seen.push(record)
      if (lines(seen).length >= 6) controller.abort()
    })
    t.equal(await following, 'aborted')
    const ticks = lines(seen).map((r) => tickNumber(r.text))
    t.ok(ticks.length >= 6)
    t.same(
      ticks,
      ticks.map((_, i) => (ticks[0] ?? 0) + i),
      'consecutive new ticks, in order',
    )
    const ended = await waitFor(
      () =>
        endedRequests(agentA)
          .slice(before)
          .find((entry) => entry.follow === true),
      { what: 'the agent to end the followed request', timeoutMs: 15_000 },
    )
    t.equal(ended.reason, 'cancelled', 'the agent ended it because the hub cancelled it')
    // The ticker goes on printing; the agent must not send anything more.
    const chunksAfter = await chunksReceived(hub)
    await sleep(1_500)
    t.equal(await chunksReceived(hub), chunksAfter, 'no chunk reached the hub after the cancel')
  })

  await t.test('follow ends by itself at its bound, with an end record', async (t) => {
    const seen: LogRecord[] = []
    const started = Date.now()
    t.equal(await followLogs(hub, 'ticker', 'follow=true&tail=0&followSeconds=2', AbortSignal.timeout(30_000), (record) => seen.push(record)), 'ended')
    t.ok(Date.now() - started >= 1_900, 'it followed for its bound')
    t.ok(lines(seen).length >= 3, `${lines(seen).length} ticks in 2 s`)
    t.same(seen.at(-1), { type: 'end' })
    t.same(
      seen.filter((r) => r.type === 'error'),
      [],
    )
    const cli = await shoalLogs(hub, ['ticker', '-f', '--follow-for', '2s', '--tail', '1'])
    t.equal(cli.code, 0, `exit code 0 (stderr: ${cli.stderr.trim()})`)
    t.ok(cli.stdout.split('\n').filter((line) => line.startsWith('tick-')).length >= 3, `ticks printed: ${cli.stdout.trim().split('\n').length}`)
  })

  await t.test('several nodes: lines merged and named by node; the CLI prefixes them', async (t) => {
    const { status, records } = await getLogs(hub, 'everywhere', 'tail=5')
    t.equal(status, 200)
    t.same(records[0]?.targets?.map((target) => target.node).sort(), [ids.a, ids.b].sort())
    t.same(
      lines(records)
        .map((r) => `${r.node}:${r.text}`)
        .sort(),
      [`${ids.a}:hello-everywhere`, `${ids.b}:hello-everywhere`].sort(),
    )
    const cli = await shoalLogs(hub, ['everywhere'])
    t.equal(cli.code, 0, `exit code 0 (stderr: ${cli.stderr.trim()})`)
    t.same(cli.stdout.trim().split('\n').sort(), [`[${ids.a}] hello-everywhere`, `[${ids.b}] hello-everywhere`].sort())
  })

  await t.test('a node whose agent was SIGKILLed is answered at once with "offline since"', async (t) => {
    await agentB.kill('SIGKILL')
    await waitFor(async () => (await hub.node(ids.b)).online === false, { what: `the hub to see ${ids.b} offline`, timeoutMs: 30_000 })
    const offlinePattern = new RegExp(`^node ${ids.b} is offline since \\d{4}-\\d{2}-\\d{2}T[^ ]+; its logs can be read once it reconnects$`)

    const one = await getLogs(hub, 'everywhere', `node=${ids.b}`)
    t.equal(one.status, 503)
    t.equal(one.error?.code, 'node-offline')
    t.match(one.error?.message, offlinePattern)

    const merged = await getLogs(hub, 'everywhere', 'tail=5')
    t.equal(merged.status, 200, 'the other node still answers')
    t.same(texts(merged.records), ['hello-everywhere'])
    t.match(
      merged.records.find((r) => r.type === 'error'),
      { node: ids.b, code: 'node-offline', message: offlinePattern },
    )
    t.same(merged.records.at(-1), { type: 'end' })

    const follow = await getLogs(hub, 'everywhere', `node=${ids.b}&follow=true`)
    t.equal(follow.status, 503, 'following an offline node does not hang either')

    const cli = await shoalLogs(hub, ['everywhere', '--node', ids.b])
    t.equal(cli.code, 1)
    t.match(cli.stderr, new RegExp(`error: node ${ids.b} is offline since`))
  })

  await t.test('unknown deployment, node or flags: a clear 404 / 400', async (t) => {
    const missing = await getLogs(hub, 'no-such-deployment', 'tail=5')
    t.equal(missing.status, 404)
    t.equal(missing.error?.message, 'deployment no-such-deployment not found')
    const wrongNode = await getLogs(hub, 'chatty', `node=${ids.b}`)
    t.equal(wrongNode.status, 404)
    t.match(wrongNode.error?.message, `a workload of deployment chatty on node ${ids.b} not found`)
    const badTail = await getLogs(hub, 'chatty', 'tail=lots')
    t.equal(badTail.status, 400)
    const cli = await shoalLogs(hub, ['no-such-deployment'])
    t.equal(cli.code, 1)
    t.match(cli.stderr, /error: deployment no-such-deployment not found/)
    const unauthorized = await hub.api('GET', '/api/v1/deployments/chatty/logs', undefined, { token: 'wrong' })
    t.equal(unauthorized.status, 401)
  })
})

t.test('NATS with JetStream: tail', async (t) => {
  const image = testImage()
  const nats = await startNats(t, { jetstream: true })
  const hub = await startHubProcess(t, { extraArgs: ['--nats-url', nats.url] })
  const fleet = uniqueNodeId('nlogs')
  const token = await hub.createJoinToken({ maxUses: 1, ttl: '10m', labels: { fleet } })
  const nodeId = uniqueNodeId('nats')
  await startHubAgent(t, hub, { name: nodeId, token })
  await hub.apply(deploymentYaml('chatty', { replicas: 1, selector: { matchLabels: { fleet } }, template: template(image, CHATTY) }))
  await waitForRunning(nodeId, ['chatty'], 90_000)
  await chattyDone(hub, 'chatty to print its 100 lines, read over NATS')
  t.equal((await hub.ok('GET', '/healthz')).transport, 'nats', 'the hub talks to its agents over NATS')

  const { status, records } = await getLogs(hub, 'chatty', 'tail=6')
  t.equal(status, 200)
  const tagged = lines(records).map((r) => `${r.stream}:${r.text}`)
  t.same(tagged, await engineTail(nodeId, 'chatty', 6), "exactly the engine's last 6 lines, in its order")
  t.ok(streamsEndAt50(tagged, 3), `out-48..50 and err-48..50: ${tagged.join(' ')}`)
  t.same(records.at(-1), { type: 'end' })
  const cli = await shoalLogs(hub, ['chatty', '--tail', '2'])
  t.equal(cli.code, 0, `exit code 0 (stderr: ${cli.stderr.trim()})`)
  const engine = await engineTail(nodeId, 'chatty', 2)
  const onStream = (stream: string): string =>
    engine
      .filter((line) => line.startsWith(`${stream}:`))
      .map((line) => `${line.slice(stream.length + 1)}\n`)
      .join('')
  t.equal(cli.stdout, onStream('stdout'), 'stdout lines on stdout')
  t.equal(cli.stderr, onStream('stderr'), 'stderr lines on stderr')
})
