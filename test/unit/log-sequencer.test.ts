import t from 'tap'
import { ChunkSequencer, type SequencedChunk } from '../../hub/logs/log-sequencer.js'

interface Chunk extends SequencedChunk {
  readonly tag: string
}

const chunk = (seq: number, end = false): Chunk => ({ seq, end, tag: `c${seq}` })
const tags = (chunks: readonly Chunk[]): string[] => chunks.map((c) => c.tag)

t.test('hands on chunks that arrive in order at once', async (t) => {
  const s = new ChunkSequencer<Chunk>()
  t.same(tags(s.push(chunk(0)).ready), ['c0'])
  t.same(tags(s.push(chunk(1)).ready), ['c1'])
  t.equal(s.push(chunk(2)).outcome, 'delivered')
  t.equal(s.expected, 3)
  t.notOk(s.finished)
})

t.test('holds early chunks and releases them when the missing one arrives', async (t) => {
  const s = new ChunkSequencer<Chunk>()
  t.same(s.push(chunk(2)), { outcome: 'held', ready: [], skipped: 0 })
  t.same(s.push(chunk(1)).outcome, 'held')
  t.equal(s.holding, 2)
  const result = s.push(chunk(0))
  t.equal(result.outcome, 'delivered')
  t.same(tags(result.ready), ['c0', 'c1', 'c2'])
  t.equal(s.holding, 0)
  t.equal(s.expected, 3)
})

t.test('drops duplicates, whether already handed on or still held', async (t) => {
  const s = new ChunkSequencer<Chunk>()
  s.push(chunk(0))
  t.equal(s.push(chunk(0)).outcome, 'duplicate')
  s.push(chunk(3))
  t.equal(s.push(chunk(3)).outcome, 'duplicate')
  t.same(tags(s.push(chunk(1)).ready), ['c1'])
  t.same(tags(s.push(chunk(2)).ready), ['c2', 'c3'])
})

t.test('finishes at the end chunk and ignores anything after it', async (t) => {
  const s = new ChunkSequencer<Chunk>()
  s.push(chunk(0))
  const end = s.push(chunk(1, true))
  t.same(tags(end.ready), ['c1'])
  t.ok(s.finished)
  t.equal(s.push(chunk(2)).outcome, 'after-end')
  t.equal(s.push(chunk(1, true)).outcome, 'after-end', 'a repeated end too')
})

t.test('an end chunk that arrives early is held, and later seqs are refused', async (t) => {
  const s = new ChunkSequencer<Chunk>()
  t.equal(s.push(chunk(2, true)).outcome, 'held')
  t.equal(s.push(chunk(5)).outcome, 'after-end', 'nothing exists after the end')
  s.push(chunk(1))
  const result = s.push(chunk(0))
  t.same(tags(result.ready), ['c0', 'c1', 'c2'])
  t.ok(s.finished)
})

t.test('release stops at the end even if a bogus later chunk was held first', async (t) => {
  const s = new ChunkSequencer<Chunk>()
  s.push(chunk(2)) // held before the end was known
  s.push(chunk(1, true))
  const result = s.push(chunk(0))
  t.same(tags(result.ready), ['c0', 'c1'])
  t.ok(s.finished)
  t.equal(s.holding, 0)
})

t.test('skipGap gives up on the missing chunks and reports how many', async (t) => {
  const s = new ChunkSequencer<Chunk>()
  s.push(chunk(0))
  s.push(chunk(3))
  s.push(chunk(4))
  s.push(chunk(7))
  const first = s.skipGap()
  t.equal(first.skipped, 2, 'seqs 1 and 2 never came')
  t.same(tags(first.ready), ['c3', 'c4'])
  const second = s.skipGap()
  t.equal(second.skipped, 2, 'seqs 5 and 6')
  t.same(tags(second.ready), ['c7'])
  t.same(s.skipGap(), { skipped: 0, ready: [] }, 'nothing held: nothing to skip')
  t.same(tags(s.push(chunk(8)).ready), ['c8'])
})

t.test('too much held behind one gap skips it by itself', async (t) => {
  const s = new ChunkSequencer<Chunk>(3)
  for (const seq of [2, 3, 4]) t.equal(s.push(chunk(seq)).outcome, 'held')
  const result = s.push(chunk(5))
  t.equal(result.outcome, 'delivered')
  t.equal(result.skipped, 2)
  t.same(tags(result.ready), ['c2', 'c3', 'c4', 'c5'])
  t.equal(s.push(chunk(0)).outcome, 'duplicate', 'a chunk given up on is not taken later')
  t.throws(() => new ChunkSequencer<Chunk>(0), RangeError)
})

t.test('any arrival order yields every chunk exactly once, in order', async (t) => {
  // A fixed pseudo-random shuffle with duplicates, so the test is repeatable.
  let state = 42
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
  for (let round = 0; round < 50; round++) {
    const count = 1 + Math.floor(random() * 30)
    const arrivals = Array.from({ length: count }, (_, i) => chunk(i, i === count - 1))
    for (let i = 0; i < count / 3; i++) {
      const seq = Math.floor(random() * count)
      arrivals.push(chunk(seq, seq === count - 1))
    }
    for (let i = arrivals.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[arrivals[i], arrivals[j]] = [arrivals[j] as Chunk, arrivals[i] as Chunk]
    }
    const s = new ChunkSequencer<Chunk>(1000)
    const out: number[] = []
    for (const c of arrivals) out.push(...s.push(c).ready.map((r) => r.seq))
    t.same(
      out,
      Array.from({ length: count }, (_, i) => i),
      `round ${round}`,
    )
    t.ok(s.finished)
  }
})
