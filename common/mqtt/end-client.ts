import type { MqttClient } from 'mqtt'
import type { Logger } from 'pino'

/** How long a clean end (in-flight QoS 1 messages acknowledged first) may take. */
export const MQTT_END_BOUND_MS = 2_000

/**
 * Ends the client cleanly, but never waits longer than boundMs: a clean end waits for the
 * broker to acknowledge what is in flight, and a hung broker (socket open, nothing answering)
 * never does. Past the bound it forces the end, which drops the socket without waiting.
 */
export async function endWithin(client: MqttClient, logger: Logger, boundMs = MQTT_END_BOUND_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const ended = await Promise.race([
    new Promise<true>((resolve) => client.end(false, {}, () => resolve(true))),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), boundMs)
    }),
  ])
  clearTimeout(timer)
  if (ended) return
  logger.warn({ boundMs }, 'the MQTT broker did not let the connection end cleanly; closing it without waiting')
  await new Promise<void>((resolve) => client.end(true, {}, () => resolve()))
}
