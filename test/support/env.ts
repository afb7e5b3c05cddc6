/**
 * What scripts/test provides. A missing value is an error, never a skip: a
 * test that silently skips its real service proves nothing.
 */
export function requireEnv(name: string): string {
  const value = process.env[name]
  if (!value) {
    throw new Error(
      `${name} is not set: run the suite via ./scripts/test, which starts dockerd, ` +
        'a loopback registry, Mosquitto and NATS and exports SHOAL_TEST_* for the tests',
    )
  }
  return value
}

/** The busybox test image, e.g. shoal-test/busybox:1 (local, never pulled). */
export const testImage = (): string => requireEnv('SHOAL_TEST_IMAGE')

/** host:port of the loopback registry, e.g. 127.0.0.1:41234. */
export const testRegistry = (): string => requireEnv('SHOAL_TEST_REGISTRY')

/** The test image's reference in the loopback registry (pulls are real). */
export const testRegistryImage = (): string => `${testRegistry()}/${testImage()}`

/** Short random id of this run; containers carry it as a label. */
export const testRunId = (): string => requireEnv('SHOAL_TEST_RUN')

/** mqtt://127.0.0.1:PORT of the run's shared Mosquitto. */
export const testMqttUrl = (): string => requireEnv('SHOAL_TEST_MQTT_URL')

/** nats://127.0.0.1:PORT of the run's shared nats-server (JetStream on). */
export const testNatsUrl = (): string => requireEnv('SHOAL_TEST_NATS_URL')

export const TEST_RUN_LABEL = 'io.shoal.test-run'

/** Labels every container a test creates must carry, for cleanup. */
export const testLabels = (): Record<string, string> => ({ [TEST_RUN_LABEL]: testRunId() })
