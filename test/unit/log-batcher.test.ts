import t from 'tap'
import { LogBatcher, lineBytes, splitText, toChunkLines, type ChunkLine } from '../../agent/log-batcher.js'
import type { LogLine } from '../../agent/runtime/runtime.js'
import { LogChunk, MAX_BYTES, MAX_CHUNK_LINES, MAX_LOG_LINE_TEXT, encodeMessage } from '../../protocol/index.js'

const out = (text: string): LogLine => ({ stream: 'stdout', text })

/** Feeds every line and takes the rest: every batch, in order. */
function batches(batcher: LogBatcher, lines: readonly LogLine[]): ChunkLine[][] {
  const all: ChunkLine[][] = []
  for (const line of lines) all.push(...batcher.add(line))
  const rest = batcher.take()
  if (rest.length > 0) all.push(rest)
  return all
}

t.test('splitText leaves a short line alone and cuts a long one into pieces of the limit', async (t) => {
  t.same(splitText('hello', 10), ['hello'])
  t.same(splitText('', 10), [''])
  t.same(splitText('abcdefghij', 10), ['abcdefghij'])
  t.same(splitText('abcdefghijk', 5), ['abcde', 'fghij', 'k'])
  t.equal(splitText('x'.repeat(MAX_LOG_LINE_TEXT * 2 + 1)).length, 3)
})

t.test('splitText never separates the halves of a surrogate pair', async (t) => {
  const text = `abcd${'😀'.repeat(5)}`
  const pieces = splitText(text, 5)
  t.equal(pieces.join(''), text, 'nothing lost')
  for (const piece of pieces) {
    t.ok(piece.length <= 5)
    t.notOk(/[\uD800-\uDBFF]$/.test(piece), `no piece ends in a high surrogate: ${JSON.stringify(piece)}`)
    t.notOk(/^[\uDC00-\uDFFF]/.test(piece), 'no piece starts with a low surrogate')
  }
  t.throws(() => splitText('abc', 1), RangeError)
})

t.test('toChunkLines keeps stream and time on every piece', async (t) => {
  const at = '2025-03-01T12:00:00.123456789Z'
  const pieces = toChunkLines({ stream: 'stderr', text: 'y'.repeat(MAX_LOG_LINE_TEXT + 3), at })
  t.equal(pieces.length, 2)
  t.ok(pieces.every((p) => p.stream === 'stderr' && p.at === at))
  t.same(toChunkLines(out('plain')), [{ stream: 'stdout', text: 'plain' }], 'no at key when the runtime gave none')
})

t.test('batches hold at most maxLines lines, in order', async (t) => {
  const lines = Array.from({ length: 23 }, (_, i) => out(`line-${i}`))
  const result = batches(new LogBatcher({ maxLines: 10 }), lines)
  t.same(
    result.map((b) => b.length),
    [10, 10, 3],
  )
  t.same(
    result.flat().map((l) => l.text),
    lines.map((l) => l.text),
    'every line once, in order',
  )
})

t.test('batches stay within maxBytes of JSON; a bigger line travels alone', async (t) => {
  const batcher = new LogBatcher({ maxLines: 1000, maxBytes: 200 })
  const small = Array.from({ length: 12 }, (_, i) => out(`s${String(i).padStart(2, '0')}-${'x'.repeat(20)}`))
  const big = out('B'.repeat(500))
  const result = batches(batcher, [...small.slice(0, 6), big, ...small.slice(6)])
  for (const batch of result) {
    const bytes = batch.reduce((sum, line) => sum + lineBytes(line), 0)
    if (batch.some((l) => l.text.startsWith('B'))) t.equal(batch.length, 1, 'the oversize line is alone in its batch')
    else t.ok(bytes <= 200, `batch of ${bytes} bytes`)
  }
  t.same(
    result.flat().map((l) => l.text),
    [...small.slice(0, 6), big, ...small.slice(6)].map((l) => l.text),
  )
})

t.test('a batch counts escaped bytes, not characters', async (t) => {
  // A control character takes six bytes in JSON.
  const batcher = new LogBatcher({ maxLines: 1000, maxBytes: 1000 })
  const result = batches(
    batcher,
    Array.from({ length: 10 }, () => out('\u0001'.repeat(50))),
  )
  t.ok(result.length >= 3, `${result.length} batches for 3000+ bytes of JSON`)
})

t.test('the default limits always make a chunk the protocol accepts', async (t) => {
  const batcher = new LogBatcher()
  const nasty = [out('\u0000'.repeat(MAX_LOG_LINE_TEXT * 2)), ...Array.from({ length: 3000 }, (_, i) => out(`n${i}`)), out('é'.repeat(70_000))]
  let seq = 0
  for (const lines of batches(batcher, nasty)) {
    const chunk = { requestId: 'req-00000001', nodeId: 'pi-1', seq: seq++, lines, end: false }
    const bytes = encodeMessage(chunk).byteLength
    t.ok(bytes <= MAX_BYTES['logs-chunk'], `chunk ${chunk.seq}: ${bytes} bytes`)
    t.ok(lines.length <= MAX_CHUNK_LINES)
    t.ok(LogChunk.safeParse(chunk).success, `chunk ${chunk.seq} validates`)
  }
})

t.test('take empties the batcher; size counts what waits', async (t) => {
  const batcher = new LogBatcher({ maxLines: 5 })
  t.same(batcher.add(out('a')), [])
  t.same(batcher.add(out('b')), [])
  t.equal(batcher.size, 2)
  t.same(
    batcher.take().map((l) => l.text),
    ['a', 'b'],
  )
  t.equal(batcher.size, 0)
  t.same(batcher.take(), [])
  t.throws(() => new LogBatcher({ maxLines: MAX_CHUNK_LINES + 1 }), RangeError)
  t.throws(() => new LogBatcher({ maxLines: 0 }), RangeError)
})
