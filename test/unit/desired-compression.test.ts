import { gunzipSync, gzipSync } from 'node:zlib'
import t from 'tap'
import { COMPRESS_DESIRED_FROM_BYTES, encodeDesired, inflateDesired, isGzipped } from '../../protocol/desired-compression.js'
import { MAX_BYTES, ProtocolError, decodeJson, encodeMessage, readsGzip } from '../../protocol/index.js'

/** A document-shaped value whose JSON is about `bytes` long, repetitive as real ones are. */
function documentOf(bytes: number): { workloads: { name: string; image: string }[] } {
  const workloads: { name: string; image: string }[] = []
  while (JSON.stringify({ workloads }).length < bytes) workloads.push({ name: `w-${workloads.length}`, image: `registry.example/app:1.${workloads.length}` })
  return { workloads }
}

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

function refusal(t: TapTest, payload: Buffer | Uint8Array, code: string, message: RegExp, maxBytes?: number): void {
  try {
    inflateDesired(payload, maxBytes)
    t.fail(`expected a ${code} refusal`)
  } catch (error) {
    t.ok(error instanceof ProtocolError, 'a ProtocolError')
    t.equal((error as ProtocolError).code, code)
    t.match((error as Error).message, message)
  }
}

t.test('round trip: a node that reads gzip gets a gzipped document that inflates to the same JSON', async (t) => {
  const document = documentOf(20_000)
  const payload = encodeDesired(document, ['gzip'])
  t.ok(isGzipped(payload), 'starts with the gzip magic bytes')
  t.ok(payload.length < encodeMessage(document).length / 4, `${payload.length} bytes for ${encodeMessage(document).length} of JSON`)
  const inflated = inflateDesired(payload)
  t.strictSame(Buffer.from(inflated as Buffer), encodeMessage(document), 'the same bytes as plain encoding')
  t.strictSame(decodeJson(inflated, MAX_BYTES.desired), document)
})

t.test('plain JSON for a node that does not say it reads gzip, whatever the size', async (t) => {
  const document = documentOf(20_000)
  for (const declared of [undefined, [], ['br'], ['gzip-2']]) {
    const payload = encodeDesired(document, declared)
    t.strictSame(payload, encodeMessage(document), `declared ${JSON.stringify(declared)}`)
    t.notOk(isGzipped(payload))
  }
  t.ok(readsGzip(['br', 'gzip']), 'gzip among others counts')
})

t.test('the threshold: plain below COMPRESS_DESIRED_FROM_BYTES, gzip from it on', async (t) => {
  const small = documentOf(COMPRESS_DESIRED_FROM_BYTES - 100)
  t.ok(encodeMessage(small).length < COMPRESS_DESIRED_FROM_BYTES)
  t.strictSame(encodeDesired(small, ['gzip']), encodeMessage(small), 'below the threshold: plain')
  const large = documentOf(COMPRESS_DESIRED_FROM_BYTES)
  t.ok(encodeMessage(large).length >= COMPRESS_DESIRED_FROM_BYTES)
  t.ok(isGzipped(encodeDesired(large, ['gzip'])), 'at or above it: gzip')
  t.ok(isGzipped(encodeDesired(small, ['gzip'], { fromBytes: 0 })), 'the threshold is an option')
})

t.test('a document that gzip would not shrink goes plain', async (t) => {
  // A few bytes: gzip's own framing (18 bytes) makes it longer.
  const tiny = { a: 1 }
  const json = encodeMessage(tiny)
  t.ok(gzipSync(json, { level: 9 }).length >= json.length, 'the fixture really does not shrink')
  t.strictSame(encodeDesired(tiny, ['gzip'], { fromBytes: 0 }), json)
})

t.test('plain JSON payloads pass through inflateDesired untouched', async (t) => {
  const json = encodeMessage(documentOf(5_000))
  t.equal(inflateDesired(json), json, 'a Buffer')
  t.equal(inflateDesired(' {"a":1}'), ' {"a":1}', 'a string (never gzip)')
  t.strictSame(inflateDesired(Buffer.alloc(0)), Buffer.alloc(0), 'an empty payload (a cleared topic) is left for the caller')
  t.strictSame(inflateDesired(Buffer.from([0x1f])), Buffer.from([0x1f]), 'one byte is not the magic')
  t.strictSame(inflateDesired(Buffer.from([0x8b, 0x1f, 0x00])), Buffer.from([0x8b, 0x1f, 0x00]), 'nor the magic reversed')
})

t.test('a zip bomb stops at the limit with a clear oversize error', async (t) => {
  const bomb = gzipSync(Buffer.alloc(64 * MAX_BYTES.desired, ' '))
  t.ok(bomb.length < 100_000, `the bomb is small on the wire (${bomb.length} bytes for 64 MiB)`)
  refusal(t, bomb, 'oversize', /^compressed payload of \d+ bytes inflates past the limit of 1048576 bytes$/)
  const justOver = gzipSync(Buffer.alloc(MAX_BYTES.desired + 1, ' '))
  refusal(t, justOver, 'oversize', /inflates past the limit/)
  const exactly = gzipSync(Buffer.alloc(MAX_BYTES.desired, ' '))
  t.equal((inflateDesired(exactly) as Buffer).length, MAX_BYTES.desired, 'exactly the limit inflates')
  refusal(t, gzipSync(Buffer.alloc(101, ' ')), 'oversize', /limit of 100 bytes/, 100)
})

t.test('a compressed payload larger than the limit is refused before it is inflated', async (t) => {
  const payload = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(MAX_BYTES.desired)])
  refusal(t, payload, 'oversize', /^compressed payload of 1048578 bytes exceeds the limit of 1048576 bytes$/)
})

t.test('truncated or corrupt gzip is refused as bad-compression, never half-read', async (t) => {
  const gzipped = gzipSync(encodeMessage(documentOf(5_000)))
  refusal(t, gzipped.subarray(0, gzipped.length - 4), 'bad-compression', /cannot be inflated: unexpected end of file/)
  refusal(t, gzipped.subarray(0, 2), 'bad-compression', /unexpected end of file/)
  refusal(t, gzipped.subarray(0, gzipped.length / 2), 'bad-compression', /unexpected end of file/)
  const badCrc = Buffer.from(gzipped)
  badCrc.writeUInt32LE((badCrc.readUInt32LE(badCrc.length - 8) ^ 1) >>> 0, badCrc.length - 8)
  refusal(t, badCrc, 'bad-compression', /incorrect data check/)
  const flipped = Buffer.from(gzipped)
  flipped[40] = (flipped[40] ?? 0) ^ 0xff
  refusal(t, flipped, 'bad-compression', /cannot be inflated/)
  refusal(t, Buffer.concat([gzipped, Buffer.from('trailing')]), 'bad-compression', /cannot be inflated/)
  refusal(t, Buffer.from([0x1f, 0x8b, 0x00, 0x01, 0x02]), 'bad-compression', /cannot be inflated/)
})

t.test('every level inflates to the same JSON', async (t) => {
  const document = documentOf(30_000)
  for (const level of [1, 6, 9]) t.strictSame(gunzipSync(encodeDesired(document, ['gzip'], { level })), encodeMessage(document), `level ${level}`)
})
