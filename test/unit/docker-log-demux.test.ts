import t from 'tap'
import { DockerLogDemuxer, DockerLogFormatError, type LogDemuxOptions } from '../../agent/runtime/docker-log-demux.js'
import type { LogLine } from '../../agent/runtime/runtime.js'

const STDOUT = 1
const STDERR = 2

/** One frame as the engine writes it: stream byte, three zeros, big-endian length, payload. */
function frame(stream: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(body.length, 4)
  return Buffer.concat([header, body])
}

/** Feed `bytes` in the given chunks and collect every line, the final flush included. */
function demux(chunks: Buffer[], options: Partial<LogDemuxOptions> = {}): LogLine[] {
  const demuxer = new DockerLogDemuxer({ multiplexed: true, timestamps: false, ...options })
  const lines: LogLine[] = []
  for (const chunk of chunks) lines.push(...demuxer.push(chunk))
  lines.push(...demuxer.end())
  return lines
}

const INTERLEAVED = Buffer.concat([frame(STDOUT, 'out one\n'), frame(STDERR, 'err one\n'), frame(STDOUT, 'out two\nout three\n'), frame(STDERR, 'err two\n')])

t.test('separates stdout and stderr and keeps their order', async (t) => {
  t.same(demux([INTERLEAVED]), [
    { stream: 'stdout', text: 'out one' },
    { stream: 'stderr', text: 'err one' },
    { stream: 'stdout', text: 'out two' },
    { stream: 'stdout', text: 'out three' },
    { stream: 'stderr', text: 'err two' },
  ])
})

t.test('frames split at every byte boundary give the same lines', async (t) => {
  const whole = demux([INTERLEAVED])
  for (let cut = 0; cut <= INTERLEAVED.length; cut++) {
    const lines = demux([INTERLEAVED.subarray(0, cut), INTERLEAVED.subarray(cut)])
    if (JSON.stringify(lines) !== JSON.stringify(whole)) {
      t.same(lines, whole, `cut at byte ${cut}`)
      return
    }
  }
  t.pass(`all ${INTERLEAVED.length + 1} two-piece cuts agree`)
  const bytes = [...INTERLEAVED].map((byte) => Buffer.from([byte]))
  t.same(demux(bytes), whole, 'one byte at a time')
})

t.test('a line split over frames is joined per stream, across the other stream', async (t) => {
  const lines = demux([Buffer.concat([frame(STDOUT, 'hel'), frame(STDERR, 'oops\n'), frame(STDOUT, 'lo\nwor'), frame(STDOUT, 'ld\n')])])
  t.same(lines, [
    { stream: 'stderr', text: 'oops' },
    { stream: 'stdout', text: 'hello' },
    { stream: 'stdout', text: 'world' },
  ])
})

t.test('an unterminated last line comes out at the end', async (t) => {
  const demuxer = new DockerLogDemuxer({ multiplexed: true, timestamps: false })
  t.same(demuxer.push(frame(STDOUT, 'done\nno newline')), [{ stream: 'stdout', text: 'done' }])
  t.same(demuxer.end(), [{ stream: 'stdout', text: 'no newline' }])
})

t.test('multi-byte characters cut between frames survive; CRLF loses its CR', async (t) => {
  const text = Buffer.from('héllo wörld\r\n')
  const lines = demux([Buffer.concat([frame(STDOUT, text.subarray(0, 2)), frame(STDOUT, text.subarray(2, 9)), frame(STDOUT, text.subarray(9))])])
  t.same(lines, [{ stream: 'stdout', text: 'héllo wörld' }])
})

t.test('empty frames and empty lines', async (t) => {
  t.same(demux([Buffer.concat([frame(STDOUT, ''), frame(STDOUT, '\n\n'), frame(STDERR, 'x\n')])]), [
    { stream: 'stdout', text: '' },
    { stream: 'stdout', text: '' },
    { stream: 'stderr', text: 'x' },
  ])
})

t.test('engine errors (stream 3) arrive as stderr', async (t) => {
  t.same(demux([frame(3, 'Error grabbing logs: boom\n')]), [{ stream: 'stderr', text: 'Error grabbing logs: boom' }])
})

t.test('timestamps', async (t) => {
  const at1 = '2024-05-01T10:20:30.123456789Z'
  const at2 = '2024-05-01T10:20:31.000000000Z'
  const at3 = '2024-05-01T12:20:32.500000000+02:00'

  t.test('are stripped and reported per line', async (t) => {
    const bytes = Buffer.concat([frame(STDOUT, `${at1} first\n`), frame(STDERR, `${at2} second\n`), frame(STDOUT, `${at3} third has spaces\n`)])
    const expected = [
      { stream: 'stdout', text: 'first', at: at1 },
      { stream: 'stderr', text: 'second', at: at2 },
      { stream: 'stdout', text: 'third has spaces', at: at3 },
    ]
    t.same(demux([bytes], { timestamps: true }), expected)
    for (let cut = 0; cut <= bytes.length; cut++) {
      const lines = demux([bytes.subarray(0, cut), bytes.subarray(cut)], { timestamps: true })
      if (JSON.stringify(lines) !== JSON.stringify(expected)) {
        t.same(lines, expected, `cut at byte ${cut}`)
        return
      }
    }
    t.pass('every cut agrees')
  })

  t.test('a long line in partial messages keeps the first time and drops the others', async (t) => {
    const lines = demux([Buffer.concat([frame(STDOUT, `${at1} part one, `), frame(STDOUT, `${at2} part two\n`)])], { timestamps: true })
    t.same(lines, [{ stream: 'stdout', text: 'part one, part two', at: at1 }])
  })

  t.test('a frame without a timestamp is kept as text', async (t) => {
    t.same(demux([frame(3, 'Error grabbing logs: x\n')], { timestamps: true }), [{ stream: 'stderr', text: 'Error grabbing logs: x' }])
    t.same(demux([frame(STDOUT, 'short')], { timestamps: true }), [{ stream: 'stdout', text: 'short' }])
    const long = 'x'.repeat(100)
    t.same(demux([frame(STDOUT, `${long}\n`)], { timestamps: true }), [{ stream: 'stdout', text: long }])
  })
})

t.test('a line without end is cut at maxLineBytes', async (t) => {
  const lines = demux([frame(STDOUT, 'abcdefghij'), frame(STDOUT, 'klm\n')], { maxLineBytes: 4 })
  t.same(
    lines.map((line) => line.text),
    ['abcd', 'efgh', 'ijkl', 'm'],
  )
})

t.test('a TTY log has no frames: all stdout, timestamps opening each line', async (t) => {
  const raw = Buffer.from('2024-05-01T10:20:30.000000000Z hello tty\r\n2024-05-01T10:20:31.000000000Z bye\r\n')
  const expected = [
    { stream: 'stdout', text: 'hello tty', at: '2024-05-01T10:20:30.000000000Z' },
    { stream: 'stdout', text: 'bye', at: '2024-05-01T10:20:31.000000000Z' },
  ]
  for (let cut = 0; cut <= raw.length; cut++) {
    const lines = demux([raw.subarray(0, cut), raw.subarray(cut)], { multiplexed: false, timestamps: true })
    if (JSON.stringify(lines) !== JSON.stringify(expected)) {
      t.same(lines, expected, `cut at byte ${cut}`)
      return
    }
  }
  t.pass('every cut agrees')
  t.same(demux([Buffer.from('a\nb')], { multiplexed: false }), [
    { stream: 'stdout', text: 'a' },
    { stream: 'stdout', text: 'b' },
  ])
})

t.test('bytes that are not frames fail loudly, naming the offset', async (t) => {
  const demuxer = new DockerLogDemuxer({ multiplexed: true, timestamps: false })
  t.throws(() => demuxer.push(Buffer.concat([frame(STDOUT, 'ok\n'), Buffer.from('hello, I am a TTY\n')])), DockerLogFormatError)
  t.throws(() => new DockerLogDemuxer({ multiplexed: true, timestamps: false }).push(Buffer.concat([frame(STDOUT, 'ok\n'), Buffer.from('hello, world')])), {
    name: 'DockerLogFormatError',
    offset: 11,
    message: /TTY/,
  })
})

t.test('a log that ends inside a frame is reported', async (t) => {
  const demuxer = new DockerLogDemuxer({ multiplexed: true, timestamps: false })
  demuxer.push(frame(STDOUT, 'complete\n').subarray(0, 12))
  t.throws(() => demuxer.end(), DockerLogFormatError)
})
