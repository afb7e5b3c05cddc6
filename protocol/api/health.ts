import { z } from 'zod'

/** GET /healthz (no token): the hub runs, and where agents reach its broker. */
export const Health = z.strictObject({
  ok: z.literal(true),
  transport: z.enum(['embedded', 'mqtt', 'nats']),
  broker: z.string(),
})
export type Health = z.infer<typeof Health>
