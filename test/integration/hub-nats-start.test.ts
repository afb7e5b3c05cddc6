// A hub whose NATS server does not answer JetStream yet (a cluster electing its leader after a
// restart, a loaded server shedding API requests, or here a server started without -js) waits
// for it instead of exiting at the first 503. Real hub process, real nats-server: one without
// JetStream is replaced, on the same port, by one with it while the hub waits.
import t from 'tap'
import { startHubProcess } from '../support/hub-process.js'
import { freePort, startNats, waitFor } from '../support/index.js'

t.setTimeout(120_000)

t.test('a hub started before JetStream answers waits for it, then serves', async (t) => {
  const monitor = await freePort()
  const plain = await startNats(t, { jetstream: false, args: ['-m', String(monitor)] })
  const starting = startHubProcess(t, { extraArgs: ['--nats-url', plain.url] })
  starting.catch(() => undefined)

  // The condition: the hub's connection has sent requests (JetStream API calls, none answered:
  // the server has no JetStream, so each gets a no-responders 503).
  type Connz = { connections?: { name?: string; in_msgs?: number }[] }
  const asked = async (): Promise<true | undefined> => {
    const connz = (await fetch(`http://127.0.0.1:${monitor}/connz`).then((r) => r.json())) as Connz
    return (connz.connections ?? []).some((c) => c.name === 'shoal-hub' && (c.in_msgs ?? 0) > 0) || undefined
  }
  await waitFor(asked, { what: 'the hub to ask JetStream (and get no answer)', timeoutMs: 45_000, intervalMs: 100 })
  t.pass('the hub asked for JetStream and got no answer; it is still starting')

  await plain.stop()
  await startNats(t, { port: plain.port })
  const hub = await starting
  t.ok(hub.alive, 'once JetStream answers, the hub finishes starting')
  const nodes = await fetch(`${hub.apiUrl}/api/v1/nodes`, { headers: { authorization: `Bearer ${hub.adminToken}` } })
  t.equal(nodes.status, 200, 'and serves its API')
})
