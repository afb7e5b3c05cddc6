import t from 'tap'
import { CONSUMERS_PER_NODE, consumersOverBound, nodeOfDesiredFilter } from '../../hub/transport/nats-consumer-bound.js'

const key = (node: string) => `$KV.shoal_v1_desired.${node}`
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString()

t.test('a filter names a node only when it is exactly one valid node key of the bucket', async (t) => {
  t.equal(nodeOfDesiredFilter(key('pi-1')), 'pi-1')
  for (const filter of [
    '',
    '$KV.shoal_v1_desired.',
    '$KV.shoal_v1_desired.>',
    '$KV.shoal_v1_desired.*',
    '$KV.other.pi-1',
    '$KV.shoal_v1_desired.Pi_1',
    'shoal.v1.nodes.pi-1.ack',
  ]) {
    t.equal(nodeOfDesiredFilter(filter), null, `${JSON.stringify(filter)} names no node`)
  }
})

t.test('nodes within the bound, and consumers of no node, are left alone', async (t) => {
  const consumers = [
    ...Array.from({ length: CONSUMERS_PER_NODE }, (_, i) => ({ name: `a${i}`, filterSubject: key('a'), created: at(i) })),
    { name: 'b0', filterSubject: key('b'), created: at(0) },
    ...Array.from({ length: 20 }, (_, i) => ({ name: `hub${i}`, filterSubject: '', created: at(i) })),
    ...Array.from({ length: 20 }, (_, i) => ({ name: `all${i}`, filterSubject: '$KV.shoal_v1_desired.>', created: at(i) })),
  ]
  t.same(consumersOverBound(consumers), [])
})

t.test('beyond the bound the oldest go and the newest stay, per node', async (t) => {
  const consumers = [
    ...Array.from({ length: 12 }, (_, i) => ({ name: `a${String(i).padStart(2, '0')}`, filterSubject: key('a'), created: at(11 - i) })),
    ...Array.from({ length: 3 }, (_, i) => ({ name: `c${i}`, filterSubject: key('c'), created: at(i) })),
  ]
  const excess = consumersOverBound(consumers, 2)
  t.equal(excess.length, 2, 'a and c are over a bound of 2')
  t.same(
    excess[0],
    { nodeId: 'a', held: 12, names: ['a11', 'a10', 'a09', 'a08', 'a07', 'a06', 'a05', 'a04', 'a03', 'a02'] },
    'a keeps its two newest (a00, a01), oldest deleted first',
  )
  t.same(excess[1], { nodeId: 'c', held: 3, names: ['c0'] })
})

t.test('equal creation times break by name, so the choice is stable', async (t) => {
  const consumers = ['z', 'y', 'x'].map((name) => ({ name, filterSubject: key('a'), created: at(5) }))
  t.same(consumersOverBound(consumers, 1), [{ nodeId: 'a', held: 3, names: ['x', 'y'] }])
})
