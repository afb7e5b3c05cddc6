import { z } from 'zod'
import { LabelKey } from './primitives.js'
import { Requirements } from './requirements.js'
import { LabelSelector } from './selector.js'

/** "Push work to the data": nodes labelled `data=<name>` hold that data set. */
export const DataAffinity = z.strictObject({
  required: z.array(z.string().min(1).max(63)).optional(),
  preferred: z.array(z.string().min(1).max(63)).optional(),
})

/** Where copies may run, in the words Deployments and Jobs share; the scheduler's checks read them. */
export const PlacementFields = {
  selector: LabelSelector.optional(),
  requires: Requirements.optional(),
  spread: z.strictObject({ topologyKey: LabelKey }).optional(),
  affinity: z.strictObject({ data: DataAffinity.optional() }).optional(),
}
