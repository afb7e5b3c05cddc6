// Restart policies, exactly. A container that keeps crashing (restartPolicy always) is
// restarted with growing delays and reported as crash-loop, with its exit code and last log
// lines; a `never` container that exits stays exited and is reported as such.
import path from 'node:path'
import t from 'tap'
import { dockerClient, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'
import { nodeContainers, startAgentProcess, uniqueNodeId } from '../support/agent-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'

t.setTimeout(180_000)

/** Start times (ms) of a node's containers for one workload, from the engine's event stream, until aborted. */
async function collectStarts(nodeId: string, workload: string, signal: AbortSignal, into: number[]): Promise<void> {
  const docker = dockerClient()
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['start'], label: [`io.shoal.node=${nodeId}`, `io.shoal.workload=${workload}`] },
    abortSignal: signal,
  } as Parameters<typeof docker.getEvents>[0])) as NodeJS.ReadableStream
  let pending = ''
  try {
    for await (const chunk of stream) {
      pending += chunk.toString()
      let newline: number
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline).trim()
        pending = pending.slice(newline + 1)
        if (line) into.push(Math.floor(Number((JSON.parse(line) as { timeNano: number }).timeNano) / 1e6))
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error
  }
}

t.test('a crash-looping container backs off and is reported; a `never` one stays exited', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('crash')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-crash')
  const docker = dockerClient()
  const agent = await startAgentProcess(t, { nodeId, dataDir: path.join(dir, 'data'), hubUrl: broker.url, hubKey: hub.publicKey })

  const starts: number[] = []
  const stopEvents = new AbortController()
  t.teardown(() => stopEvents.abort())
  const watching = collectStarts(nodeId, 'boom', stopEvents.signal, starts)
  // The event stream is live once the engine has answered; give it a moment to be subscribed.
  await new Promise((resolve) => setImmediate(resolve))

  await hub.publishDesired(
    nodeId,
    [
      {
        name: 'boom',
        deployment: 'boom',
        revision: 1,
        template: { image, command: ['sh', '-c', 'echo starting; echo boom; exit 3'], restartPolicy: 'always', network: 'host' },
      },
      {
        name: 'once',
        deployment: 'once',
        revision: 1,
        template: { image, command: ['sh', '-c', 'echo done once; sleep 2; exit 5'], restartPolicy: 'never', network: 'host' },
      },
    ],
    1,
  )

  await t.test('the crash loop is reported with exit code and last log lines', async (t) => {
    const event = await hub.waitForEvent(nodeId, 'WorkloadStateChanged', (e) => e.workload === 'boom' && e.data?.to === 'crash-loop', { timeoutMs: 60_000 })
    t.equal(event.data?.exitCode, 3, 'the event carries the exit code')
    t.match(String(event.data?.lastLog), /boom/, 'and the last log lines')
    t.equal(event.severity, 'warning')
    const status = await hub.waitForStatus(nodeId, (s) => s.workloads.some((w) => w.name === 'boom' && w.state === 'crash-loop'), {
      what: 'a crash-loop status',
    })
    const boom = status.workloads.find((w) => w.name === 'boom')
    t.equal(boom?.exitCode, 3, 'the status carries the exit code')
    t.ok(
      boom?.lastLogLines?.some((line) => line.includes('boom')),
      `the status carries the last log lines: ${JSON.stringify(boom?.lastLogLines)}`,
    )
    t.ok((boom?.restarts ?? 0) >= 3, `restarts are counted (${boom?.restarts})`)
    t.match(boom?.message ?? '', /backing off/)
    const local = await agent.status()
    t.equal(local.workloads.find((w) => w.name === 'boom')?.state, 'crash-loop', '`agent status` agrees')
  })

  await t.test('crashes after the transition still reach the hub: a BackOff event with a count, and the restart count in status', async (t) => {
    const transition = await hub.waitForEvent(nodeId, 'WorkloadStateChanged', (e) => e.workload === 'boom' && e.data?.to === 'crash-loop', {
      timeoutMs: 60_000,
    })
    const atTransition = await hub.waitForStatus(nodeId, (s) => s.workloads.some((w) => w.name === 'boom' && w.state === 'crash-loop'), {
      what: 'a crash-loop status',
    })
    const restartsThen = atTransition.workloads.find((w) => w.name === 'boom')?.restarts ?? 0
    const backOff = await hub.waitForEvent(nodeId, 'BackOff', (e) => e.workload === 'boom', { timeoutMs: 60_000 })
    t.ok(Number(backOff.data?.count) >= 1, `the event says how many restarts it stands for (${backOff.data?.count})`)
    t.equal(backOff.data?.exitCode, 3, 'and the last exit code')
    t.equal(backOff.severity, 'warning')
    t.ok(Date.parse(backOff.at) >= Date.parse(transition.at), 'after the transition')
    const later = await hub.waitForStatus(nodeId, (s) => (s.workloads.find((w) => w.name === 'boom')?.restarts ?? 0) > restartsThen, {
      what: `a status with more than ${restartsThen} restarts`,
    })
    t.equal(later.workloads.find((w) => w.name === 'boom')?.state, 'crash-loop', 'still crash-looping, and saying so with a growing count')
  })

  await t.test('restarts come with growing delays', async (t) => {
    await waitFor(() => starts.length >= 6, { what: `six starts of the crashing container (seen ${starts.length})`, timeoutMs: 60_000 })
    const gaps = starts.slice(1).map((at, i) => at - (starts[i] ?? at))
    t.comment(`gaps between starts (ms): ${gaps.join(', ')}`)
    const first = gaps[0] ?? 0
    const last = gaps.at(-1) ?? 0
    t.ok(last > 2 * first, 'the latest delay is well over twice the first (exponential backoff, not a tight loop)')
    const containers = (await nodeContainers(nodeId)).filter((c) => c.workload === 'boom')
    t.equal(containers.length, 1, 'always the same single container, never a duplicate')
    // Its first start came with the create (no container id); a start of the existing
    // container would be the agent restarting it on top of the engine.
    const fromAgent = agent
      .logLines('reconciling')
      .flatMap((l) => (l.steps as string[]) ?? [])
      .filter((step) => /^start boom \(/.test(step))
    t.same(fromAgent, [], "the agent does not fight the engine's backoff with starts of its own")
    const latest = hub.latestStatus(nodeId)?.workloads.find((w) => w.name === 'boom')
    t.equal(latest?.state, 'crash-loop', 'the latest status still says crash-loop')
    t.ok(
      latest?.lastLogLines?.some((line) => line.includes('boom')),
      'and still carries the last log lines',
    )
  })

  await t.test('a `never` container that exited stays exited', async (t) => {
    const status = await hub.waitForStatus(nodeId, (s) => s.workloads.some((w) => w.name === 'once' && w.state === 'exited'), {
      what: 'once to be reported exited',
    })
    const once = status.workloads.find((w) => w.name === 'once')
    t.equal(once?.exitCode, 5, 'with its exit code')
    t.equal(once?.restarts, 0, 'and no restarts: it was never restarted')
    const [container] = (await nodeContainers(nodeId)).filter((c) => c.workload === 'once')
    const first = await docker.getContainer(container?.id ?? '').inspect()
    t.equal(first.State.Status, 'exited')
    // Several full reconcile passes later, it is still down and was never started again.
    await agent.waitForPasses(agent.passCount(), 3)
    const later = await docker.getContainer(container?.id ?? '').inspect()
    t.equal(later.State.Status, 'exited', 'still exited')
    t.equal(later.State.StartedAt, first.State.StartedAt, 'never started again')
    t.equal(later.RestartCount, 0)
    t.equal((await agent.status()).workloads.find((w) => w.name === 'once')?.state, 'exited', '`agent status` says exited')
    t.notOk(
      hub.events(nodeId, 'WorkloadStateChanged').some((e) => e.workload === 'once' && e.data?.to === 'crash-loop'),
      'an exit under `never` is not a crash loop',
    )
  })

  stopEvents.abort()
  await watching
  t.ok(agent.alive)
  t.same(hub.ledger.anomalies, [])
  t.same(hub.ledger.refused, [])
})
