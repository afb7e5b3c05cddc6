import t from 'tap'
import { MAX_NODE_PACKET_BYTES, MqttPacketSizeGuard } from '../../hub/transport/mqtt-packet-guard.js'
import { MAX_BYTES } from '../../protocol/index.js'

/** An MQTT packet: fixed header (type byte, variable-length remaining length), then the body. */
function packet(typeByte: number, body: Buffer): Buffer {
  const length: number[] = []
  let n = body.length
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    length.push(byte)
  } while (n > 0)
  return Buffer.concat([Buffer.from([typeByte, ...length]), body])
}
const TOPIC = Buffer.from('shoal/v1/nodes/pi-1/outbox')
const publish = (bytes: number) => packet(0x32, Buffer.concat([Buffer.from([0, TOPIC.length]), TOPIC, Buffer.from([0, 7]), Buffer.alloc(bytes, 0x61)]))
const ping = packet(0xc0, Buffer.alloc(0))
// The guard reads no packet's contents, only its header: a CONNECT-sized body will do.
const connect = packet(0x10, Buffer.alloc(60, 0x01))

/** Feeds `stream` cut at the given offsets; returns the first verdict. */
function feedCut(guard: MqttPacketSizeGuard, stream: Buffer, cuts: readonly number[]) {
  let from = 0
  for (const to of [...cuts, stream.length]) {
    const verdict = guard.feed(stream.subarray(from, to))
    if (verdict) return verdict
    from = to
  }
  return null
}

t.test('a largest legitimate outbox batch passes; the bound leaves room for its topic and headers', async (t) => {
  const stream = Buffer.concat([connect, publish(MAX_BYTES.outbox), ping, publish(0), ping])
  t.equal(new MqttPacketSizeGuard().feed(stream), null)
  t.ok(MAX_NODE_PACKET_BYTES > MAX_BYTES.outbox + 1024)
})

t.test('packet boundaries are followed whatever the chunking: every single cut point', async (t) => {
  const stream = Buffer.concat([connect, publish(300), ping, publish(200), packet(0xe0, Buffer.alloc(0))])
  for (let cut = 0; cut <= stream.length; cut++) {
    const verdict = feedCut(new MqttPacketSizeGuard(400), stream, [cut])
    if (verdict !== null) t.fail(`cut at ${cut}: ${JSON.stringify(verdict)}`)
  }
  t.pass('no false alarm at any cut')
  // Byte by byte, with a packet over a 250-byte bound third: found at its header, not later.
  const over = Buffer.concat([connect, ping, publish(300), ping])
  const guard = new MqttPacketSizeGuard(250)
  let found: unknown = null
  let at = 0
  for (; at < over.length && found === null; at++) found = guard.feed(over.subarray(at, at + 1))
  t.same(found, { tooLarge: publish(300).length - 3 }, 'the declared remaining length of the large publish (a two-byte length field)')
  t.ok(at <= connect.length + ping.length + 3, 'seen at its fixed header, before its body arrives')
})

t.test('a header declaring 256 MB is refused from its first five bytes', async (t) => {
  const header = Buffer.from([0x32, 0xff, 0xff, 0xff, 0x7f])
  t.same(new MqttPacketSizeGuard().feed(header), { tooLarge: 268_435_455 })
})

t.test('a remaining length of more than four bytes is malformed', async (t) => {
  t.same(new MqttPacketSizeGuard(Number.MAX_SAFE_INTEGER).feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])), {
    malformed: 'remaining length longer than four bytes',
  })
})
