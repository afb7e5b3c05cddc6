/**
 * How often the broker link itself speaks while idle, from the firmware profile's heartbeat
 * interval (one knob per device class). Heartbeats are QoS 0 / core NATS, never answered, so only
 * a keepalive exchange (MQTT PINGREQ/PINGRESP, NATS PING/PONG) proves the broker still hears the
 * node; the period is twice the heartbeat interval, within 30 s (short intervals gain nothing from
 * pinging faster) and 20 minutes (a NAT or firewall forgets an idle flow after that).
 *
 * A keepalive sent on its own costs four TCP segments (~210 bytes with headers: the ping, the
 * broker's ack, the answer, ours); one written together with a heartbeat shares its segment and
 * the broker's answer carries the ack, which leaves ~56 bytes (docs/benchmarks.md, section 8). So
 * the probe rides along with the first heartbeat `probeAfterMs` after the previous one (every
 * other heartbeat), and the transport's own ping waits `OWN_PING_FACTOR` periods after the last
 * answer, so that it only speaks when heartbeats stop or go unanswered and never races the
 * heartbeat that would have carried the probe. The trade-off: a dead link is noticed 1.5 own-ping
 * periods after the last answer, 1.875 periods (3.75 heartbeat intervals) instead of 1.5 (MQTT)
 * or 3 (NATS, two missed pongs), still before the hub's presence monitor (four intervals) says so.
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
   * (nats.js makes a new consumer after two missed; the transport watches anew after every reconnect).
   */
  readonly watchIdleHeartbeatMs: number
  /**
   * A heartbeat sent this long after the last probe carries one (in the same write); null: none
   * ride along and the transport pings every period on its own, as before timings came from the profile.
   */
  readonly probeAfterMs: number | null
}

/** The transport's own ping, in periods after the last answer, when probes ride along with heartbeats. */
export const OWN_PING_FACTOR = 1.25

export const MIN_KEEPALIVE_MS = 30_000
export const MAX_KEEPALIVE_MS = 1_200_000

/** Pure. */
export function linkTiming(heartbeatIntervalMs: number): LinkTiming {
  const periodMs = Math.min(MAX_KEEPALIVE_MS, Math.max(MIN_KEEPALIVE_MS, 2 * heartbeatIntervalMs))
  const seconds = Math.round(periodMs / 1000)
  return {
    mqttKeepaliveSeconds: seconds,
    natsPingIntervalMs: seconds * 1000,
    watchIdleHeartbeatMs: Math.min(MAX_KEEPALIVE_MS, 4 * seconds * 1000),
    // Half a heartbeat short of a period: the beat after that would be a period late.
    probeAfterMs: Math.max(0, seconds * 1000 - Math.round(heartbeatIntervalMs / 2)),
  }
}

/**
 * The transport's own ping interval (ms) for a keepalive `periodMs`: the period itself without
 * riding probes, OWN_PING_FACTOR periods with them (at most 1.25 of MQTT's keepalive, inside the
 * broker's 1.5 before it drops a silent client). Pure.
 */
export function ownPingMs(periodMs: number, timing: Pick<LinkTiming, 'probeAfterMs'>): number {
  return timing.probeAfterMs === null ? periodMs : Math.round(periodMs * OWN_PING_FACTOR)
}

/** Whether a heartbeat sent at `nowMs` carries a probe, the last one having gone at `lastProbeAtMs`. Pure. */
export function probeRidesAlong(nowMs: number, lastProbeAtMs: number, timing: Pick<LinkTiming, 'probeAfterMs'>): boolean {
  return timing.probeAfterMs !== null && nowMs - lastProbeAtMs >= timing.probeAfterMs
}

/** What links had before timings came from the profile (and what a transport started without one uses). */
export const DEFAULT_LINK_TIMING: LinkTiming = { mqttKeepaliveSeconds: 30, natsPingIntervalMs: 20_000, watchIdleHeartbeatMs: 5_000, probeAfterMs: null }
