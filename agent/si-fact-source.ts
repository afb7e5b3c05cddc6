import { readFile } from 'node:fs/promises'
import si from 'systeminformation'
import type { FactSource } from './inventory.js'

/**
 * Facts from systeminformation, for platforms other than Linux (where the agent reads the kernel's
 * files instead, see proc-fact-source.ts). It shells out (lspci, nvidia-smi, dmidecode), so the
 * caller bounds every call.
 */
export const systemFactSource: FactSource = {
  osInfo: () => si.osInfo(),
  cpu: () => si.cpu(),
  memoryTotal: async () => (await si.mem()).total,
  system: () => si.system(),
  graphics: async () => (await si.graphics()).controllers,
  filesystems: async () => (await si.fsSize()).map((fs) => ({ mount: fs.mount, size: fs.size, type: fs.type })),
  // dockerInfo() resolves {} when there is no daemon.
  dockerVersion: async () => (await si.dockerInfo()).serverVersion || undefined,
  deviceTree: async (name) => {
    try {
      return await readFile(`/proc/device-tree/${name}`, 'latin1')
    } catch {
      return undefined
    }
  },
}
