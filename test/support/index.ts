// Helpers for tests that run against the real services scripts/test starts.
export type { TestLike } from './types.js'
export { freePort, portAccepts } from './ports.js'
export { tempDir } from './tmp.js'
export { sleep, waitFor, type WaitOptions } from './wait.js'
export {
  requireEnv,
  testImage,
  testRegistry,
  testRegistryImage,
  testRunId,
  testMqttUrl,
  testNatsUrl,
  testLabels,
  TEST_RUN_LABEL,
} from './env.js'
export { startService, findBinary, type ServiceHandle, type ServiceSpec } from './process.js'
export { startMosquitto, startNats, type MosquittoOptions, type NatsOptions } from './brokers.js'
export { crashContainer, dockerClient, removeContainersByLabel, pullImage, pushImage, untilEventsFlow } from './docker.js'
