import t from 'tap'
import { DesiredDocument, NodeStatus } from '../../protocol/index.js'
import { churnPick, simulatedNodeName } from '../../agent/simulator/simulated-fleet.js'
import { simulatedInventory } from '../../agent/simulator/simulated-machine.js'
import { runningWorkloads } from '../../agent/simulator/simulated-workloads.js'
import { Inventory } from '../../protocol/index.js'

t.test('churnPick takes the fraction, spread, other nodes each round', async (t) => {
  t.same(churnPick(0, 0.5, 0), [])
  t.same(churnPick(10, 0, 0), [])
  t.same(churnPick(10, 0.2, 0), [0, 5])
  t.same(churnPick(10, 0.2, 1), [1, 6], 'the next round shifts')
  t.same(churnPick(10, 0.01, 0), [0], 'at least one node for a fraction above zero')
  t.same(churnPick(3, 5, 0), [0, 1, 2], 'a fraction above one takes every node once')
  for (let count = 1; count < 50; count++)
    for (const fraction of [0.1, 0.33, 0.5, 1]) {
      const picked = churnPick(count, fraction, 7)
      t.equal(new Set(picked).size, picked.length, 'no node twice')
      t.ok(
        picked.every((i) => i >= 0 && i < count),
        'every index in range',
      )
    }
})

t.test('names are stable, padded and within a node name', async (t) => {
  t.equal(simulatedNodeName('scale', 7), 'scale-00007')
  t.equal(simulatedNodeName('x'.repeat(70), 1).length, 63)
})

t.test('the made-up inventory passes the schema the hub holds enrollment to', async (t) => {
  t.ok(Inventory.safeParse(simulatedInventory('n-1')).success)
})

t.test('an accepted document is reported running at its revisions, in a status the protocol accepts', async (t) => {
  const document = {
    apiVersion: 'shoal/v1',
    kind: 'NodeDesiredState',
    nodeId: 'n-1',
    generation: 4,
    issuedAt: '2026-01-01T00:00:00.000Z',
    workloads: [
      { name: 'web', deployment: 'web', revision: 2, template: { image: 'busybox' } },
      { name: 'db-1', deployment: 'db', revision: 5, template: { image: 'busybox' } },
    ],
    signature: 'x',
  } as unknown as DesiredDocument
  const { records, status } = runningWorkloads('n-1', document, '2026-01-01T00:00:01.000Z')
  t.same(
    records.map((r) => [r.name, r.revision, r.state]),
    [
      ['web', 2, 'running'],
      ['db-1', 5, 'running'],
    ],
  )
  t.equal(status.kind, 'status')
  const parsed = NodeStatus.safeParse(status.body)
  t.ok(parsed.success, 'a valid NodeStatus')
  t.equal(parsed.data?.observedGeneration, 4)
  t.ok(parsed.data?.workloads.every((w) => w.ready === true && w.state === 'running'))
})
