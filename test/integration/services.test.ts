// Proves the real parts the suite relies on work on this machine: Mosquitto
// (with outages on the same port), NATS JetStream KV, Docker with host
// networking, and pulls from the loopback registry.
import t from 'tap'
import { connectAsync, type MqttClient } from 'mqtt'
import { connect, type NatsConnection } from 'nats'
import {
  dockerClient,
  freePort,
  portAccepts,
  pullImage,
  removeContainersByLabel,
  startMosquitto,
  startNats,
  testImage,
  testLabels,
  testMqttUrl,
  testNatsUrl,
  testRegistry,
  testRegistryImage,
  testRunId,
  TEST_RUN_LABEL,
  waitFor,
  type TestLike,
} from '../support/index.js'

/** Subscribe, publish at QoS 1 and wait for our own message to come back. */
async function roundtrip(client: MqttClient, topic: string, payload: string): Promise<string> {
  await client.subscribeAsync(topic, { qos: 1 })
  const got = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`no message on ${topic} within 5 s`))
    }, 5_000)
    const onMessage = (from: string, msg: Buffer): void => {
      if (from !== topic || msg.toString() !== payload) return
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve(msg.toString())
    }
    client.on('message', onMessage)
  })
  await client.publishAsync(topic, payload, { qos: 1 })
  return got
}

async function natsClient(t: TestLike, url: string): Promise<NatsConnection> {
  // Never give up reconnecting: the tests below restart the server.
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  t.teardown(() => nc.close())
  return nc
}

t.test('the shared brokers from scripts/test answer', async (t) => {
  const client = await connectAsync(testMqttUrl(), { reconnectPeriod: 0, connectTimeout: 5_000 })
  t.teardown(() => client.endAsync(true))
  t.equal(await roundtrip(client, `shoal-test/${testRunId()}/shared`, 'ping'), 'ping')

  const nc = await natsClient(t, testNatsUrl())
  const kv = await nc.jetstream().views.kv(`shared_${testRunId()}`)
  await kv.put('k', 'v')
  t.equal((await kv.get('k'))?.string(), 'v', 'JetStream KV on the shared server')
  await kv.destroy()
})

t.test('mosquitto: pub/sub, clean stop, crash and restart on the same port', async (t) => {
  const broker = await startMosquitto(t)
  const client = await connectAsync(broker.url, { reconnectPeriod: 100, connectTimeout: 2_000 })
  t.teardown(() => client.endAsync(true))
  const topic = 'shoal-test/outage'
  t.equal(await roundtrip(client, topic, 'before'), 'before')

  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  await broker.stop()
  await closed
  t.equal(broker.pid, undefined, 'no process while stopped')
  t.notOk(await portAccepts(broker.port), 'port closed while stopped')

  await broker.start()
  await waitFor(() => client.connected, { what: 'the MQTT client to reconnect after a restart' })
  t.equal(await roundtrip(client, topic, 'after-restart'), 'after-restart')

  const pidBefore = broker.pid
  await broker.kill() // SIGKILL: a broker crash
  t.notOk(await portAccepts(broker.port), 'port closed after the crash')
  await broker.start()
  t.not(broker.pid, pidBefore, 'a new process')
  await waitFor(() => client.connected, { what: 'the MQTT client to reconnect after a crash' })
  t.equal(await roundtrip(client, topic, 'after-crash'), 'after-crash')
})

t.test('mosquitto: configLines replace the defaults', async (t) => {
  const broker = await startMosquitto(t, { configLines: ['allow_anonymous false'] })
  const refused = connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 2_000 })
  await t.rejects(refused, /not authorized|Connection refused/i, 'anonymous client refused')
})

t.test('a service that dies on start-up fails fast, with its log', async (t) => {
  // "exited during start-up", not the 15 s start timeout's message: it failed as soon as the process died.
  await t.rejects(startMosquitto(t, { configLines: ['no_such_option true'] }), {
    message: /mosquitto exited during start-up[\s\S]*no_such_option/,
  })
})

t.test('nats-server: JetStream KV survives a restart of the server', async (t) => {
  const server = await startNats(t)
  const nc = await natsClient(t, server.url)
  const js = nc.jetstream({ timeout: 1_000 })
  const kv = await js.views.kv('shoal_test')
  const rev = await kv.put('node.a', JSON.stringify({ generation: 1 }))
  t.equal((await kv.get('node.a'))?.json<{ generation: number }>().generation, 1)

  await server.stop()
  t.notOk(await portAccepts(server.port))
  await server.start()
  // The store dir is kept, so the value is still there after reconnecting.
  const entry = await waitFor(async () => kv.get('node.a'), {
    what: 'JetStream KV to answer after the restart',
    timeoutMs: 15_000,
    intervalMs: 200,
  })
  t.equal(entry.revision, rev)
  // Compare-and-set against a stale revision must fail.
  await kv.update('node.a', JSON.stringify({ generation: 2 }), rev)
  await t.rejects(kv.update('node.a', JSON.stringify({ generation: 3 }), rev), 'stale revision refused')
})

t.test('docker: busybox with host networking serves HTTP on loopback', async (t) => {
  const docker = dockerClient()
  const port = await freePort()
  const container = await docker.createContainer({
    Image: testImage(),
    name: `shoal-test-${testRunId()}-httpd-${port}`,
    Labels: testLabels(),
    Cmd: ['sh', '-c', `echo hello-from-busybox > /www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /www`],
    HostConfig: { NetworkMode: 'host', Tmpfs: { '/www': 'rw,size=1m' } },
  })
  t.teardown(() => container.remove({ force: true }).catch(() => undefined))
  await container.start()

  const body = await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/index.html`)
      return res.ok ? res.text() : undefined
    },
    { what: `httpd in the container on 127.0.0.1:${port}`, timeoutMs: 15_000 },
  )
  t.equal(body, 'hello-from-busybox\n')

  const info = await container.inspect()
  t.equal(info.HostConfig.NetworkMode, 'host')
  t.equal(info.Config.Labels[TEST_RUN_LABEL], testRunId())

  await container.remove({ force: true })
  const gone = await container.inspect().then(
    () => undefined,
    (err: { statusCode?: number }) => err,
  )
  t.equal(gone?.statusCode, 404, 'container is gone')
})

t.test('docker: removeContainersByLabel removes what carries the label', async (t) => {
  const docker = dockerClient()
  const caseLabel = `io.shoal.test-case=services-${testRunId()}-${process.pid}`
  for (let i = 0; i < 2; i++) {
    await docker.createContainer({
      Image: testImage(),
      Labels: { ...testLabels(), 'io.shoal.test-case': caseLabel.split('=')[1] ?? '' },
      Cmd: ['sleep', '60'],
      HostConfig: { NetworkMode: 'host' },
    })
  }
  t.equal(await removeContainersByLabel(t, caseLabel), 2)
  const left = await docker.listContainers({ all: true, filters: { label: [caseLabel] } })
  t.equal(left.length, 0)
})

t.test('registry: real pulls from the loopback registry', async (t) => {
  const docker = dockerClient()
  const ref = testRegistryImage()
  const events = await pullImage(ref)
  t.ok(
    events.some((e) => String(e.status ?? '').startsWith('Digest: sha256:')),
    'the pull reports a digest',
  )
  const image = await docker.getImage(ref).inspect()
  t.ok(
    image.RepoDigests.some((d) => d.startsWith(`${testRegistry()}/shoal-test/busybox@sha256:`)),
    'the image records the registry digest',
  )
  await t.rejects(pullImage(`${testRegistry()}/shoal-test/busybox:no-such-tag`), /manifest unknown|not found/i)

  // The pulled image runs.
  const container = await docker.createContainer({
    Image: ref,
    Labels: testLabels(),
    Cmd: ['echo', 'pulled-ok'],
    HostConfig: { NetworkMode: 'host' },
  })
  t.teardown(() => container.remove({ force: true }).catch(() => undefined))
  await container.start()
  const result = (await container.wait()) as { StatusCode: number }
  t.equal(result.StatusCode, 0)
})

t.test('waitFor names what it waited for', async (t) => {
  await t.rejects(
    waitFor(() => false, { what: 'the impossible', timeoutMs: 50, intervalMs: 10 }),
    {
      message: /timed out after 50 ms waiting for the impossible/,
    },
  )
})
