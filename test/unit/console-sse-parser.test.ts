import t from 'tap'
import { SseParser } from '../../hub/console/src/api/sse-parser.js'

const change = (n: number): string => `event: node\ndata: {"type":"node","nodeId":"n${n}","reason":"heartbeat"}\n\n`

t.test('reads the hub stream: a comment, then events', async (t) => {
  const parser = new SseParser()
  t.same(parser.push(': connected\n\n'), [], 'comments dispatch nothing')
  t.same(parser.push(change(1) + change(2)), [
    { event: 'node', data: '{"type":"node","nodeId":"n1","reason":"heartbeat"}', id: null },
    { event: 'node', data: '{"type":"node","nodeId":"n2","reason":"heartbeat"}', id: null },
  ])
})

t.test('an event split anywhere across pieces comes out once, whole', async (t) => {
  const text = change(1) + ': keep-alive\n\n' + change(2)
  for (let cut = 1; cut < text.length; cut++) {
    const parser = new SseParser()
    const out = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))]
    t.equal(out.length, 2, `cut at ${cut}`)
    if (out.length !== 2) break
  }
  const parser = new SseParser()
  const out = [...text].flatMap((c) => parser.push(c))
  t.same(
    out.map((m) => JSON.parse(m.data).nodeId),
    ['n1', 'n2'],
    'one character at a time',
  )
})

t.test('CRLF and CR line ends, even with CR and LF in different pieces', async (t) => {
  const parser = new SseParser()
  t.same(parser.push('event: deployment\r'), [])
  t.same(parser.push('\ndata: a\r\n\r'), [{ event: 'deployment', data: 'a', id: null }])
  t.same(parser.push('\ndata: b\r\r'), [{ event: 'message', data: 'b', id: null }], 'the LF after a CR is not a second blank line')
})

t.test('several data lines join with LF; fields without a space; id; unknown fields ignored', async (t) => {
  const parser = new SseParser()
  t.same(parser.push('data:one\ndata: two\nid: 7\nretry: 10\nfoo: bar\n\n'), [{ event: 'message', data: 'one\ntwo', id: '7' }])
  t.same(parser.push('event: x\n\n'), [], 'an event with no data dispatches nothing')
  t.same(parser.push('data\n\n'), [{ event: 'message', data: '', id: '7' }], 'a field name alone is an empty value; the last id stays')
})
