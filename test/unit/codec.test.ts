import t from 'tap'
import { protocolFailure } from '../support/protocol-failure.js'
import { z } from 'zod'
import { MAX_BYTES, decodeJson, decodeMessage, encodeMessage, validate } from '../../protocol/codec.js'
import { Ack, OutboxBatch } from '../../protocol/outbox.js'
import { CHANNELS } from '../../protocol/topics.js'

const ack = { nodeId: 'pi-17', seq: 12 }
const options = { maxBytes: MAX_BYTES.ack, what: 'ack' }

t.test('a string, a Buffer and a Uint8Array decode to the same value', async (t) => {
  const text = JSON.stringify(ack)
  t.same(decodeMessage(Ack, text, options), ack)
  t.same(decodeMessage(Ack, Buffer.from(text), options), ack)
  t.same(decodeMessage(Ack, new TextEncoder().encode(text), options), ack)
})

t.test('a Uint8Array that views part of a larger buffer decodes only its own bytes', async (t) => {
  const text = JSON.stringify(ack)
  const backing = Buffer.from(`xxxx${text}yyyy`)
  const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, Buffer.byteLength(text))
  t.same(decodeMessage(Ack, view, options), ack)
})

t.test('encodeMessage output decodes back to the same value', async (t) => {
  const batch = {
    nodeId: 'pi-17',
    records: [
      { nodeId: 'pi-17', seq: 1, kind: 'event', body: { nodeId: 'pi-17', type: 'Started', severity: 'info', message: 'ok', at: '2025-03-01T12:00:00.000Z' } },
    ],
  }
  t.same(decodeMessage(OutboxBatch, encodeMessage(batch), { maxBytes: MAX_BYTES.outbox, what: 'outbox batch' }), batch)
})

t.test('a payload over the limit is refused as oversize before it is parsed', async (t) => {
  const limit = 64
  const error = protocolFailure(() => decodeMessage(Ack, `{"nodeId":"${'a'.repeat(80)}","seq":1}`, { maxBytes: limit, what: 'ack' }))
  t.equal(error.code, 'oversize')
  t.match(error.message, /exceeds the limit of 64 bytes/)
  t.equal(protocolFailure(() => decodeJson(Buffer.alloc(limit + 1, 0x20), limit)).code, 'oversize', 'a Buffer')
  t.equal(protocolFailure(() => decodeJson(new Uint8Array(limit + 1).fill(0x20), limit)).code, 'oversize', 'a Uint8Array')
  const broken = '{"x":"not json at all'
  t.equal(protocolFailure(() => decodeJson(broken, broken.length - 1)).code, 'oversize', 'checked before parsing')
})

t.test('the limit counts bytes, not characters', async (t) => {
  const text = JSON.stringify('é'.repeat(10)) // 10 characters, 20 bytes, plus quotes
  t.equal(decodeJson(text, 22), 'é'.repeat(10), 'exactly at the limit is accepted')
  t.equal(protocolFailure(() => decodeJson(text, 21)).code, 'oversize')
})

t.test('a payload that is not JSON is refused as malformed-json', async (t) => {
  for (const payload of ['{', 'nodeId=pi-17', '', '{"a":1,}', Buffer.from([0xff, 0xfe, 0x00])]) {
    const error = protocolFailure(() => decodeMessage(Ack, payload, options))
    t.equal(error.code, 'malformed-json', JSON.stringify(payload.toString()))
    t.equal(error.path, '')
  }
})

t.test('a payload that fails the schema is refused as invalid, with the path of the offending field', async (t) => {
  const negative = protocolFailure(() => decodeMessage(Ack, '{"nodeId":"pi-17","seq":-1}', options))
  t.equal(negative.code, 'invalid')
  t.equal(negative.path, 'seq')
  t.match(negative.message, /^invalid ack: seq: /)

  const nested = protocolFailure(() =>
    decodeMessage(
      OutboxBatch,
      JSON.stringify({
        nodeId: 'pi-17',
        records: [
          { nodeId: 'pi-17', seq: 1, kind: 'status', body: { nodeId: 'pi-17', observedGeneration: 'three', workloads: [], at: '2025-03-01T12:00:00Z' } },
        ],
      }),
      { maxBytes: MAX_BYTES.outbox, what: 'outbox batch' },
    ),
  )
  t.equal(nested.code, 'invalid')
  t.equal(nested.path, 'records[0].body.observedGeneration')
})

t.test('unknown fields are refused, each named in its own issue', async (t) => {
  const error = protocolFailure(() => decodeMessage(Ack, '{"nodeId":"pi-17","seq":1,"extra":true,"more":1}', options))
  t.equal(error.code, 'invalid')
  t.same(
    error.issues.map((issue) => [issue.path, issue.message]),
    [
      ['extra', 'unknown field "extra"'],
      ['more', 'unknown field "more"'],
    ],
  )
})

t.test('a missing field is reported as missing', async (t) => {
  const error = protocolFailure(() => decodeMessage(Ack, '{"nodeId":"pi-17"}', options))
  t.equal(error.path, 'seq')
  t.match(error.issues[0]?.message, 'required field "seq" is missing')
})

t.test('a value that is not an object is refused as invalid at the root', async (t) => {
  for (const payload of ['null', '[]', '42', '"ack"']) {
    const error = protocolFailure(() => decodeMessage(Ack, payload, options))
    t.equal(error.code, 'invalid', payload)
    t.equal(error.path, '', payload)
  }
})

t.test('validate applies defaults and returns the parsed value', async (t) => {
  const schema = z.strictObject({ a: z.number().default(1) })
  t.same(validate(schema, {}, 'thing'), { a: 1 })
})

t.test('decodeJson parses without validating, for checking a signature first', async (t) => {
  t.same(decodeJson('{"anything":[1,2]}', 100), { anything: [1, 2] })
})

t.test('every channel has a size limit', async (t) => {
  for (const channel of Object.keys(CHANNELS)) t.ok(Object.hasOwn(MAX_BYTES, channel), channel)
})

t.test('a "__proto__" key is refused as invalid, spelled plainly or with escapes, at any depth', async (t) => {
  for (const text of ['{"__proto__":{"x":1}}', '{"labels":{"a":"b","__proto__":"x"}}', '{"l":[{"\\u005f_proto__":1}]}']) {
    t.throws(() => decodeJson(text, 1024), { name: 'ProtocolError', code: 'invalid', message: /"__proto__" cannot be a key/ }, text)
  }
  t.same(decodeJson('{"proto":"__proto__","s":"\\u00e9"}', 1024), { proto: '__proto__', s: 'é' }, 'as a value, or other escapes, it is fine')
  const Labels = z.strictObject({ labels: z.record(z.string(), z.string()) })
  t.throws(
    () => decodeMessage(Labels, '{"labels":{"__proto__":"x"}}', { maxBytes: 1024, what: 'patch' }),
    { code: 'invalid' },
    'never reaches a record that would drop it',
  )
})
