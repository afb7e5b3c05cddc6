// A board whose clock is wrong (no RTC, a dead battery) with a hub on mqtts://: the agent says
// that the broker's certificate is refused because of its own clock, with both times, and keeps
// its workloads running. Then, with its containers gone and its clock in 1970, it restarts and
// runs them again from SQLite alone. Real hub, real agent, libfaketime on the agent only.
import { existsSync } from 'node:fs'
import t from 'tap'
import { selfSignedCertificate } from '../support/tls.js'
import { dockerClient, tempDir, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { deploymentYaml, manifestsYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(180_000)

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

t.test('a clock before the certificate: a clear error, workloads kept; a clock in 1970: workloads back from SQLite', async (t) => {
  t.ok(existsSync(LIBFAKETIME), `libfaketime is installed (${LIBFAKETIME}; Debian package faketime)`)
  const dir = tempDir(t, 'clock-tls')
  const { cert, key } = selfSignedCertificate(dir, 2)
  // Spawned agents inherit this process's environment: they trust the test's certificate.
  process.env.NODE_EXTRA_CA_CERTS = cert
  const hub = await startHubProcess(t, { extraArgs: ['--mqtt-tls-cert', cert, '--mqtt-tls-key', key] })
  const name = uniqueNodeId('clock')
  const agent = await startHubAgent(t, hub, { name, labels: { clock: name } })
  await hub.apply(
    manifestsYaml(deploymentYaml('clockwork', { mode: 'every-node', selector: { matchLabels: { clock: name } }, template: sleepTemplate(testImage()) })),
  )
  const before = await waitForRunning(agent.nodeId, ['clockwork'], 60_000)
  t.same(await agent.stop(), { code: 0, signal: null })

  await t.test('a clock years before the certificate: the error names the clock, the workload keeps running', async (t) => {
    await agent.start({ env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '@2001-01-01 00:00:00', FAKETIME_DONT_FAKE_MONOTONIC: '1' } })
    const line = await waitFor(
      () =>
        agent
          .log()
          .split('\n')
          .find((l) => l.includes('CERT_NOT_YET_VALID') && l.includes('"nodeTime"')),
      { what: 'the agent to explain the refused certificate', timeoutMs: 60_000 },
    )
    const entry = JSON.parse(line) as { msg: string; nodeTime: string; certificate: { validFrom: string } | null }
    t.match(entry.msg, /not yet valid by this node's clock \(it reads 2001-01-01T.*this node's clock is behind.*NTP, fake-hwclock/)
    t.match(entry.nodeTime, /^2001-01-01T/)
    t.ok(
      entry.certificate !== null && Date.parse(entry.certificate.validFrom) > Date.parse('2020-01-01'),
      'the certificate window read from the broker is in the message',
    )
    t.ok(agent.alive, 'the agent keeps running and retrying')
    const now = await waitForRunning(agent.nodeId, ['clockwork'], 30_000)
    t.equal(now.get('clockwork')?.id, before.get('clockwork')?.id, 'the same container keeps running')
    t.same(await agent.stop(), { code: 0, signal: null })
  })

  await t.test('offline, containers gone, clock in 1970: the agent runs its workloads from SQLite', async (t) => {
    await hub.kill('SIGKILL')
    const docker = dockerClient()
    for (const c of await docker.listContainers({ all: true, filters: { label: [`io.shoal.node=${agent.nodeId}`] } }))
      await docker.getContainer(c.Id).remove({ force: true })
    await agent.start({ env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '@1970-01-02 00:00:00', FAKETIME_DONT_FAKE_MONOTONIC: '1' } })
    const after = await waitForRunning(agent.nodeId, ['clockwork'], 60_000)
    t.not(after.get('clockwork')?.id, before.get('clockwork')?.id, 'a new container, made from the stored document')
    t.ok(agent.alive)
  })
})
