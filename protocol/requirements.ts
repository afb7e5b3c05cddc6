import { z } from 'zod'
import { DevicePath } from './node-policy.js'
import { Arch, Name } from './primitives.js'

/** Hard requirements a node must meet, beyond its labels: a Deployment's and a CronJob's placement. */
export const Requirements = z.strictObject({
  arch: z.array(Arch).min(1).optional(),
  capabilities: z.array(z.string().min(1).max(63)).optional(),
  profiles: z.array(Name).min(1).optional(),
  devices: z.array(DevicePath).min(1).max(32).optional().describe("device paths the node must have (the template's devices are required too)"),
})
export type Requirements = z.infer<typeof Requirements>
