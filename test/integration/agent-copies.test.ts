// Issue 19, item 4, on a real agent and the real Docker engine: a copy of several containers.
// On `network: none` each container would have a loopback of its own, so two containers that
// talk over 127.0.0.1 prove they share one namespace; an init container writes into a named
// volume the others share, is seen to have exited 0 before they started, and a failing one is
// reported with its exit code while nothing else of its copy starts.
import path from 'node:path'
import t from 'tap'
import type { NodeStatus, WorkloadStatus } from '../../protocol/index.js'
import { nodeContainers, startAgentProcess, uniqueNodeId } from '../support/agent-process.js'
import { startMqttHubDouble, type WorkloadInput } from '../support/hub-double.js'
import { dockerClient, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(180_000)

const copyOf = (status: NodeStatus | undefined, name: string): WorkloadStatus | undefined => status?.workloads.find((w) => w.name === name)

t.test('several containers in one copy', async (t) => {
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-copies')
  const nodeId = uniqueNodeId('copies')
  await startAgentProcess(t, { nodeId, dataDir: path.join(dir, nodeId), hubUrl: broker.url, hubKey: hub.publicKey })
  const image = testImage()
  const shared = [{ name: 'site', path: '/site' }]
  const pair: WorkloadInput = {
    name: 'pair',
    deployment: 'pair',
    revision: 1,
    template: {
      network: 'none',
      initContainers: [{ name: 'prepare', image, command: ['sh', '-c', 'echo preparing the site; echo hello-from-init > /site/index.html'], volumes: shared }],
      containers: [
        { name: 'server', image, command: ['sh', '-c', "trap 'exit 0' TERM; httpd -f -p 127.0.0.1:8080 -h /site & wait"], volumes: shared },
        {
          name: 'client',
          image,
          // Reaches the server only if both are in one network namespace: on `none` each would have a loopback of its own.
          command: ['sh', '-c', "trap 'exit 0' TERM; while true; do wget -qO /tmp/got http://127.0.0.1:8080/index.html; sleep 0.5; done & wait"],
          tmpfs: [{ path: '/tmp' }], // the test image has no /tmp
          readiness: { exec: { command: ['sh', '-c', 'read line < /tmp/got && echo "$line"'] }, interval: '1s', timeout: '3s', retries: 1 },
        },
      ],
    },
  }
  const broken: WorkloadInput = {
    name: 'broken',
    deployment: 'broken',
    revision: 1,
    template: {
      initContainers: [{ name: 'migrate', image, command: ['sh', '-c', 'echo migration failed >&2; exit 3'] }],
      containers: [{ name: 'app', image, command: ['sleep', '3600'] }],
    },
  }
  await hub.publishDesired(nodeId, [pair, broken], 1)

  await t.test('two containers of a copy talk over localhost; the copy is ready when both are', async (t) => {
    const status = await hub.waitForStatus(nodeId, (s) => copyOf(s, 'pair')?.ready === true, { what: 'pair ready', timeoutMs: 60_000 })
    const copy = copyOf(status, 'pair')
    t.equal(copy?.state, 'running')
    t.same(
      copy?.containers?.map((c) => [c.name, c.init, c.state, c.ready]),
      [
        ['prepare', true, 'exited', false],
        ['server', false, 'running', true],
        ['client', false, 'running', true],
      ],
      'each container, init first, in the one status of the copy',
    )
    t.equal(copy?.containers?.[0]?.exitCode, 0)
    const containers = await nodeContainers(nodeId)
    const client = containers.find((c) => c.workload === 'pair.client')
    const server = containers.find((c) => c.workload === 'pair.server')
    const inspected = await dockerClient()
      .getContainer(client?.id ?? '')
      .inspect()
    t.equal(inspected.HostConfig.NetworkMode, `container:${server?.id}`, "the client joined the server's namespace")
  })

  await t.test('the init container ran to exit 0 before the others started, and its output is kept', async (t) => {
    const containers = await nodeContainers(nodeId)
    const inspect = async (workload: string) =>
      dockerClient()
        .getContainer(containers.find((c) => c.workload === workload)?.id ?? '')
        .inspect()
    const init = await inspect('pair.prepare')
    t.equal(init.State.ExitCode, 0)
    for (const main of ['pair.server', 'pair.client']) {
      const started = Date.parse((await inspect(main)).State.StartedAt)
      t.ok(started >= Date.parse(init.State.FinishedAt), `${main} started after the init container finished`)
    }
    const logs = await dockerClient().getContainer(init.Id).logs({ stdout: true, stderr: true })
    t.match(logs.toString('utf8'), /preparing the site/, "the init container's output stays readable")
  })

  await t.test('a failing init container is reported with its exit code, and nothing else of its copy starts', async (t) => {
    const status = await hub.waitForStatus(
      nodeId,
      (s) => copyOf(s, 'broken')?.exitCode === 3 && /init container migrate/.test(copyOf(s, 'broken')?.message ?? ''),
      { what: 'broken reported with exit code 3', timeoutMs: 60_000 },
    )
    const copy = copyOf(status, 'broken')
    t.not(copy?.state, 'running')
    t.equal(copy?.ready, false)
    t.match(copy?.containers?.[0], { name: 'migrate', init: true, exitCode: 3 })
    t.match(copy?.containers?.[1], { name: 'app', init: false, state: 'pending' })
    t.match(copy?.containers?.[1]?.message, /waiting for init container migrate/)
    t.notOk(
      (await nodeContainers(nodeId)).some((c) => c.workload === 'broken.app'),
      'the app container was never created',
    )
    const event = await hub.waitForEvent(nodeId, 'WorkloadStateChanged', (e) => e.workload === 'broken' && e.data?.container === 'migrate')
    t.match(event.message, /broken\.migrate/, 'events of a container are the copy’s, naming the container')
  })

  await t.test('a new revision replaces every container and runs the init container again', async (t) => {
    const next: WorkloadInput = { ...pair, revision: 2, template: { ...pair.template, annotations: { 'shoal.dev/restartedAt': 'now' } } }
    const old = new Set((await nodeContainers(nodeId)).filter((c) => c.workload.startsWith('pair.')).map((c) => c.id))
    await hub.publishDesired(nodeId, [next, broken], 2)
    await hub.waitForStatus(nodeId, (s) => copyOf(s, 'pair')?.revision === 2 && copyOf(s, 'pair')?.ready === true, {
      what: 'pair at revision 2, ready',
      timeoutMs: 60_000,
    })
    const now = await waitFor(
      async () => {
        const mine = (await nodeContainers(nodeId)).filter((c) => c.workload.startsWith('pair.'))
        return mine.length === 3 && mine.every((c) => !old.has(c.id)) ? mine : undefined
      },
      { what: 'three new containers for pair', timeoutMs: 30_000 },
    )
    t.same(now.map((c) => c.workload).sort(), ['pair.client', 'pair.prepare', 'pair.server'])
  })
})
