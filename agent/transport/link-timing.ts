/**
 * How often the broker link itself speaks while idle, from the firmware profile's heartbeat
 * interval (one knob per device class). An idle link costs one keepalive exchange (MQTT
 * PINGREQ/PINGRESP, NATS PING/PONG: ~210 bytes with TCP/IP headers) per period, and mqtt.js
 * pings every keepalive even while heartbeats flow (QoS 0 is never acknowledged), so the period
 * is twice the heartbeat interval: a dead link is noticed within 1.5 periods (MQTT) or two missed
 * pongs (NATS), three heartbeat intervals, about when the hub's presence monitor (four intervals)
 * would say so anyway. Within 30 s (short intervals gain nothing from pinging faster) and 20
 * minutes (a NAT or firewall forgets an idle flow after that).
 */
export interface LinkTiming {
  /** MQTT keepalive, seconds (the CONNECT packet's field). */
  readonly mqttKeepaliveSeconds: number
  /** nats.js client PING interval, ms. */
  readonly natsPingIntervalMs: number
  /**
   * Idle heartbeat of the JetStream consumer that watches the desired document: nats.js' KV watch
   * asks for one every 5 s (a ~250-byte message each with headers, most of an idle NATS link's
   * bytes). The connection's pings notice a dead link; this only notices a consumer lost on a
   * live connection (rare: JetStream restarted under it), so four keepalive periods are enough
   * (nats.js makes a new consumer after two missed; every reconnect makes one anyway).
   */
  readonly watchIdleHeartbeatMs: number
}

export const MIN_KEEPALIVE_MS = 30_000
export const MAX_KEEPALIVE_MS = 1_200_000

/** Pure. */
export function linkTiming(heartbeatIntervalMs: number): LinkTiming {
  const periodMs = Math.min(MAX_KEEPALIVE_MS, Math.max(MIN_KEEPALIVE_MS, 2 * heartbeatIntervalMs))
  const seconds = Math.round(periodMs / 1000)
  return { mqttKeepaliveSeconds: seconds, natsPingIntervalMs: seconds * 1000, watchIdleHeartbeatMs: Math.min(MAX_KEEPALIVE_MS, 4 * seconds * 1000) }
}

/** What links had before timings came from the profile (and what a transport started without one uses). */
export const DEFAULT_LINK_TIMING: LinkTiming = { mqttKeepaliveSeconds: 30, natsPingIntervalMs: 20_000, watchIdleHeartbeatMs: 5_000 }
