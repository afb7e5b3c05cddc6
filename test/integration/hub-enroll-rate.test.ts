// Enrollment bursts meet the hub's admission rate (`--enroll-rate`): beyond it the hub answers
// 429 with Retry-After and a JSON error that says why, and a real agent caught in the burst
// waits as told (with jitter) and then enrolls. The rate here is one enrollment every 40
// seconds, a burst of one: the agent, started right after a first enrollment, is refused
// however long its own start takes on a busy machine (up to 40 s), and waits at most about a
// minute.
import t from 'tap'
import { minimalInventory } from '../support/inventory.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { startHubAgent, startHubProcess } from '../support/hub-process.js'
import { waitFor } from '../support/wait.js'

t.setTimeout(240_000)

t.test('a burst beyond --enroll-rate gets 429 with Retry-After; the agent honours it and enrolls', async (t) => {
  const hub = await startHubProcess(t, { extraArgs: ['--enroll-rate', '0.025'] })
  const token = await hub.createJoinToken({ maxUses: 10 })
  const enroll = (name: string) =>
    fetch(`${hub.apiUrl}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name, inventory: minimalInventory(name), agentVersion: 'test' }),
    })
  t.equal((await enroll(uniqueNodeId('first'))).status, 201, 'the first of the burst is admitted')

  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('patient'), token, startTimeoutMs: 120_000 })
  t.match(agent.log(), /"status":429,"retryAfter":"\d+".*"msg":"the hub is busy taking in enrollments; retrying"/, 'the agent was refused and waited as told')
  await waitFor(async () => (await hub.node(agent.nodeId)).online, { what: 'the agent online', timeoutMs: 30_000 })

  const waits: number[] = []
  for (let i = 0; i < 3; i++) {
    const refused = await enroll(uniqueNodeId('burst'))
    t.equal(refused.status, 429)
    const body = (await refused.json()) as { error: { code: string; message: string } }
    t.equal(body.error.code, 'enrollment-rate-limited')
    t.match(body.error.message, /admits 0\.025 enrollments per second.*try again in \d+ s.*--enroll-rate/)
    waits.push(Number(refused.headers.get('retry-after')))
  }
  t.ok(
    waits.every((w, i) => Number.isInteger(w) && w >= 1 && w > (waits[i - 1] ?? 0)),
    `Retry-After in whole seconds, later for each request of the burst: ${waits.join(', ')}`,
  )
  t.equal((await hub.nodes()).length, 2, 'the first node and the agent; the refused requests enrolled nothing')
})
