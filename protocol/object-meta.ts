import { z } from 'zod'
import { Labels, Name } from './primitives.js'

export const API_VERSION = 'shoal/v1'

/** Name, labels and annotations: the same on every kind an operator applies. */
export const ObjectMeta = z.strictObject({
  name: Name,
  labels: Labels.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
})
