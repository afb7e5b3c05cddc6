// Every byte of one process's TCP connection to one port, from the kernel's own per-socket
// counters (`ss -tinp`: tcp_info's bytes_sent, bytes_received, segs_out, segs_in), so keepalives,
// pure ACKs and retransmissions count as they happen on the wire. The counters are payload
// bytes; each segment adds its IPv4 and TCP headers (20 + 20 bytes, +12 with TCP timestamps
// as Linux sends them by default). Link-layer framing (Ethernet, LTE) is not counted: it
// depends on the link.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** IPv4 + TCP header bytes per segment on this machine (timestamps on: 52, off: 40). */
export function headerBytesPerSegment() {
  let timestamps = 1
  try {
    timestamps = Number(readFileSync('/proc/sys/net/ipv4/tcp_timestamps', 'utf8').trim())
  } catch {
    // assume the default
  }
  return 20 + 20 + (timestamps === 0 ? 0 : 12)
}

function counter(info, name) {
  const match = new RegExp(`\\b${name}:(\\d+)`).exec(info)
  return match ? Number(match[1]) : 0
}

/**
 * The established TCP sockets of `pid` whose peer is 127.0.0.1:`port`, with their counters
 * (one per connection: a reconnect makes a new one). `ss` prints each socket on two lines: the
 * addresses with `users:((...pid=N...))`, then the tcp_info fields.
 */
export function socketsOf(pid, port) {
  const text = execFileSync('ss', ['-tinpH', 'state', 'established', 'dport', '=', `:${port}`], { encoding: 'utf8' })
  const lines = text.split('\n')
  const sockets = []
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]
    if (!head || /^\s/.test(head)) continue
    const info = lines[i + 1] && /^\s/.test(lines[i + 1]) ? lines[i + 1] : ''
    if (!new RegExp(`pid=${pid},`).test(head)) continue
    const local = head.trim().split(/\s+/)[2]
    sockets.push({
      local,
      bytesSent: counter(info, 'bytes_sent'),
      bytesReceived: counter(info, 'bytes_received'),
      segsOut: counter(info, 'segs_out'),
      segsIn: counter(info, 'segs_in'),
    })
  }
  return sockets
}

/**
 * Follows one process's connection to a port over a window: `sample()` now and then (a
 * reconnect in between loses at most what the old socket carried since the last sample, and is
 * counted in `reconnects`), `total()` for what the window carried.
 */
export function tcpMeter(pid, port) {
  const header = headerBytesPerSegment()
  const first = new Map(socketsOf(pid, port).map((s) => [s.local, s]))
  if (first.size === 0) throw new Error(`process ${pid} has no established connection to 127.0.0.1:${port}`)
  const last = new Map(first)
  let closedCarried = { bytesSent: 0, bytesReceived: 0, segsOut: 0, segsIn: 0 }
  let reconnects = 0
  const since = (s) => {
    const base = first.get(s.local) ?? { bytesSent: 0, bytesReceived: 0, segsOut: 0, segsIn: 0 }
    return {
      bytesSent: s.bytesSent - base.bytesSent,
      bytesReceived: s.bytesReceived - base.bytesReceived,
      segsOut: s.segsOut - base.segsOut,
      segsIn: s.segsIn - base.segsIn,
    }
  }
  const add = (a, b) => ({
    bytesSent: a.bytesSent + b.bytesSent,
    bytesReceived: a.bytesReceived + b.bytesReceived,
    segsOut: a.segsOut + b.segsOut,
    segsIn: a.segsIn + b.segsIn,
  })
  return {
    headerBytesPerSegment: header,
    sample() {
      const now = new Map(socketsOf(pid, port).map((s) => [s.local, s]))
      for (const [local, s] of last) {
        if (now.has(local)) continue
        closedCarried = add(closedCarried, since(s))
        reconnects++
      }
      last.clear()
      for (const [local, s] of now) last.set(local, s)
    },
    total() {
      this.sample()
      let sum = closedCarried
      for (const s of last.values()) sum = add(sum, since(s))
      const segments = sum.segsOut + sum.segsIn
      return {
        ...sum,
        payloadBytes: sum.bytesSent + sum.bytesReceived,
        headerBytes: segments * header,
        wireBytes: sum.bytesSent + sum.bytesReceived + segments * header,
        reconnects,
      }
    },
  }
}
