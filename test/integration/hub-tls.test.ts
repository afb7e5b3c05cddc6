// The embedded broker over TLS: agents that trust the hub's certificate (NODE_EXTRA_CA_CERTS,
// which Node applies to every TLS connection) enroll, connect over mqtts:// and run what they
// are given; the broker refuses plain MQTT on that port.
import mqtt from 'mqtt'
import t from 'tap'
import { selfSignedCertificate } from '../support/tls.js'
import { tempDir, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { deploymentYaml, manifestsYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(120_000)

t.test('agents enroll and run workloads over an mqtts:// embedded broker', async (t) => {
  const dir = tempDir(t, 'tls')
  const { cert, key } = selfSignedCertificate(dir)
  // Spawned agents inherit this process's environment: they trust the test's certificate.
  process.env.NODE_EXTRA_CA_CERTS = cert

  const hub = await startHubProcess(t, { extraArgs: ['--mqtt-tls-cert', cert, '--mqtt-tls-key', key] })
  const health = await hub.api<{ broker: string }>('GET', '/healthz')
  const brokerUrl = health.body.broker
  t.match(brokerUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/, 'the hub advertises mqtts://')

  const name = uniqueNodeId('tls')
  await startHubAgent(t, hub, { name, labels: { secure: 'yes' } })
  await waitFor(async () => (await hub.nodes()).find((n: any) => n.id === name && n.online), { what: 'the TLS agent online', timeoutMs: 30_000 })

  await hub.apply(manifestsYaml(deploymentYaml('tls-sleeper', { selector: { matchLabels: { secure: 'yes' } }, template: sleepTemplate(testImage()) })))
  const running = await waitForRunning(name, ['tls-sleeper'], 60_000)
  t.ok(running.get('tls-sleeper'), 'the workload runs on the node that connected over TLS')

  await t.test('plain MQTT on the TLS port gets no session', async (t) => {
    const plain = mqtt.connect(brokerUrl.replace('mqtts://', 'mqtt://'), { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000 })
    const outcome = await new Promise<string>((resolve) => {
      plain.once('connect', () => resolve('connected'))
      plain.once('error', () => resolve('refused'))
      plain.once('close', () => resolve('closed'))
    })
    plain.end(true)
    t.not(outcome, 'connected')
  })
})
