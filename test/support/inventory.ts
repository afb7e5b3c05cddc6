import type { Inventory } from '../../protocol/index.js'

/** The smallest inventory the hub's enrollment schema takes: for tests that enroll by hand, without an agent. */
export function minimalInventory(hostname: string): Inventory {
  return {
    hostname,
    arch: 'amd64',
    cpu: { model: 'test', cores: 1 },
    memoryBytes: 1024 ** 3,
    disks: [],
    os: { platform: 'linux', distro: 'test', release: '1', kernel: '6' },
    hardware: {},
    gpus: [],
    runtime: { name: 'docker', version: 'test' },
  }
}
