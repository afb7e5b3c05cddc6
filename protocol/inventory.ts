import { z } from 'zod'
import { Arch } from './primitives.js'
import { SealingPublicKey } from './sealing.js'

/** What an agent learns about its machine once at start (systeminformation), sent at enrollment and on change. */
export const Inventory = z.strictObject({
  hostname: z.string().max(253),
  arch: Arch,
  cpu: z.strictObject({
    model: z.string().max(200),
    cores: z.number().int().min(1),
    speedGHz: z.number().nonnegative().optional(),
  }),
  memoryBytes: z.number().int().nonnegative(),
  disks: z
    .array(
      z.strictObject({
        mount: z.string().max(4096),
        sizeBytes: z.number().int().nonnegative(),
        type: z.string().max(64).optional(),
      }),
    )
    .max(64),
  os: z.strictObject({
    platform: z.string().max(64),
    distro: z.string().max(128),
    release: z.string().max(128),
    kernel: z.string().max(128),
  }),
  hardware: z.strictObject({
    manufacturer: z.string().max(200).optional(),
    model: z.string().max(200).optional(),
  }),
  gpus: z
    .array(
      z.strictObject({
        vendor: z.string().max(200),
        model: z.string().max(200),
        memoryBytes: z.number().int().nonnegative().optional(),
      }),
    )
    .max(32),
  runtime: z.strictObject({ name: z.string().max(64), version: z.string().max(64) }).nullable(),
  timeZone: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe("the node's zone as the system names it (TZ, /etc/localtime, /etc/timezone): the hub shows a `timeZone: local` cron job's next firing in it"),
  sealingKey: SealingPublicKey.optional().describe("the node's X25519 public key: the hub seals the node's Secrets to it"),
})
export type Inventory = z.infer<typeof Inventory>
