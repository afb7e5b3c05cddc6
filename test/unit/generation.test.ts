import t from 'tap'
import { isNewer, nextGeneration } from '../../protocol/generation.js'

t.test('any generation replaces nothing stored yet', async (t) => {
  t.ok(isNewer(1, null))
  t.ok(isNewer(1, undefined))
})

t.test('only a strictly greater generation replaces the stored one', async (t) => {
  t.ok(isNewer(8, 7), 'newer')
  t.notOk(isNewer(7, 7), 'a duplicate delivery is ignored')
  t.notOk(isNewer(6, 7), 'a reordered older delivery is ignored')
})

t.test('generations count up from 1', async (t) => {
  t.equal(nextGeneration(null), 1)
  t.equal(nextGeneration(undefined), 1)
  t.equal(nextGeneration(41), 42)
})

t.test('duplicated and reordered deliveries converge on the newest generation', async (t) => {
  // What a broker may do to retained messages across reconnects: repeat and reorder them.
  const deliveries = [3, 1, 2, 3, 5, 4, 5, 2, 1, 5, 4]
  let stored: number | null = null
  const applied: number[] = []
  for (const generation of deliveries) {
    if (isNewer(generation, stored)) {
      stored = generation
      applied.push(generation)
    }
  }
  t.equal(stored, 5)
  t.same(applied, [3, 5], 'each accepted generation is newer than the last; none is applied twice')
})
