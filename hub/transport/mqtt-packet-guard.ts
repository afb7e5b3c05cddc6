import { MAX_BYTES } from '../../protocol/index.js'

/**
 * The largest MQTT packet a node has any reason to send: its largest message (an outbox batch)
 * plus room for the topic and headers. aedes (through mqtt-packet) would otherwise buffer a
 * packet of any declared length, up to 256 MB, before the hub's own size checks see it.
 */
export const MAX_NODE_PACKET_BYTES = Math.max(MAX_BYTES.outbox, MAX_BYTES['logs-chunk'], MAX_BYTES.heartbeat, MAX_BYTES['session-out']) + 16 * 1024

export type PacketGuardVerdict = { readonly tooLarge: number } | { readonly malformed: string } | null

/**
 * Follows MQTT packet boundaries through a byte stream, chunk by chunk, and stops at the first
 * packet whose fixed header declares more than `maxPacketBytes` (or whose length field is
 * malformed): the caller closes the connection before anything buffers the body.
 */
export class MqttPacketSizeGuard {
  private state: 'type' | 'length' | 'body' = 'type'
  private declared = 0
  private multiplier = 1
  private lengthBytes = 0
  private remaining = 0

  constructor(private readonly maxPacketBytes: number = MAX_NODE_PACKET_BYTES) {}

  feed(chunk: Uint8Array): PacketGuardVerdict {
    let at = 0
    while (at < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - at)
        this.remaining -= skip
        at += skip
        if (this.remaining === 0) this.state = 'type'
        continue
      }
      const byte = chunk[at] as number
      at += 1
      if (this.state === 'type') {
        this.state = 'length'
        this.declared = 0
        this.multiplier = 1
        this.lengthBytes = 0
        continue
      }
      this.declared += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.lengthBytes += 1
      if (byte & 0x80) {
        // MQTT's remaining length has at most four bytes.
        if (this.lengthBytes === 4) return { malformed: 'remaining length longer than four bytes' }
        continue
      }
      if (this.declared > this.maxPacketBytes) return { tooLarge: this.declared }
      this.remaining = this.declared
      this.state = this.remaining === 0 ? 'type' : 'body'
    }
    return null
  }
}
