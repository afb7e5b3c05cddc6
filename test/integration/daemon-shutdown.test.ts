// Every daemon exits on SIGTERM whatever its broker is doing: up, gone (SIGKILL), hung
// (SIGSTOP: the socket stays open, nothing answers), or never reached at all. Real agent and hub
// processes, real Mosquitto and nats-server; AgentProcess/HubProcess.kill wait for the exit (up
// to 15 s, above the daemons' own bounds) and report a kill as a failure.
import path from 'node:path'
import t from 'tap'
import { startHubProcess } from '../support/hub-process.js'
import { startAgentProcess, uniqueNodeId } from '../support/agent-process.js'
import { startMosquitto, startNats, tempDir, waitFor, type ServiceHandle, type TestLike } from '../support/index.js'

t.setTimeout(300_000)

type BrokerState = 'up' | 'killed' | 'hung' | 'never-reached'

async function brokerIn(t: TestLike, broker: ServiceHandle, state: BrokerState): Promise<void> {
  if (state === 'killed' || state === 'never-reached') await broker.kill('SIGKILL')
  if (state === 'hung') {
    broker.signal('SIGSTOP')
    // Let it go again before the broker's own teardown stops it.
    t.teardown(() => broker.signal('SIGCONT'))
  }
}

for (const transport of ['mqtt', 'nats'] as const) {
  for (const state of ['up', 'killed', 'hung', 'never-reached'] as const) {
    t.test(`the agent on ${transport} exits on SIGTERM with its broker ${state}`, async (t) => {
      const broker = transport === 'mqtt' ? await startMosquitto(t) : await startNats(t)
      const nodeId = uniqueNodeId(`stop-${transport}`)
      if (state === 'never-reached') await brokerIn(t, broker, state)
      const agent = await startAgentProcess(t, { nodeId, dataDir: path.join(tempDir(t, 'daemon-shutdown'), 'data'), hubUrl: broker.url })
      if (state !== 'never-reached') {
        const connected = transport === 'mqtt' ? '"msg":"connected to broker"' : '"msg":"connected to NATS"'
        await waitFor(() => agent.log().includes(connected), { what: `the agent to connect over ${transport}`, timeoutMs: 30_000 })
        await brokerIn(t, broker, state)
      }
      t.same(await agent.kill('SIGTERM'), { code: 0, signal: null }, 'a clean exit, not a kill')
    })
  }
}

for (const state of ['up', 'killed', 'hung'] as const) {
  t.test(`the hub on an external Mosquitto exits on SIGTERM with the broker ${state}`, async (t) => {
    const mosquitto = await startMosquitto(t)
    const hub = await startHubProcess(t, { extraArgs: ['--mqtt-url', mosquitto.url] })
    await brokerIn(t, mosquitto, state)
    t.same(await hub.kill('SIGTERM'), { code: 0, signal: null }, 'a clean exit, not a kill')
    t.match(hub.log(), '"msg":"hub stopping"')
  })
}
