// The hub on NATS stops on SIGTERM whatever the broker is doing: up, gone (SIGKILL) or hung
// (SIGSTOP: the socket stays open, nothing answers). It used to await nc.drain(), which flushes
// to the server and, with the server gone, waits forever for a reconnect. Real hub process, real
// nats-server; HubProcess.kill waits for the exit (up to 15 s, far above the 3 s drain/close bound).
import t from 'tap'
import { startHubProcess } from '../support/hub-process.js'
import { startNats } from '../support/index.js'

t.setTimeout(120_000)

for (const broker of ['up', 'killed', 'hung'] as const) {
  t.test(`the hub exits on SIGTERM with the NATS server ${broker}`, async (t) => {
    const nats = await startNats(t)
    const hub = await startHubProcess(t, { extraArgs: ['--nats-url', nats.url] })
    if (broker === 'killed') await nats.kill('SIGKILL')
    if (broker === 'hung') {
      nats.signal('SIGSTOP')
      // Let it go again before the broker's own teardown stops it.
      t.teardown(() => nats.signal('SIGCONT'))
    }
    const exit = await hub.kill('SIGTERM')
    t.same(exit, { code: 0, signal: null }, 'a clean exit, not a kill')
    t.match(hub.log(), '"msg":"hub stopping"')
  })
}
