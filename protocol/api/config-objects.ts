import { z } from 'zod'
import { DataKey, DataOverride, ObjectData } from '../config-objects.js'
import { IsoTime, Labels, Name, NodeId } from '../primitives.js'
import { LabelSelector } from '../selector.js'
import { listOf } from './envelopes.js'

const ConfigObjectKind = z.enum(['Config', 'Secret'])

/** A key and the size of its value: what may be shown of a Secret. */
const KeySize = z.strictObject({ key: DataKey, bytes: z.number().int().nonnegative() })

/** A Config or Secret as listed: keys, sizes, versions and users, never a Secret's values. */
export const ConfigObjectView = z.strictObject({
  kind: ConfigObjectKind,
  name: Name,
  labels: Labels,
  /** Grows by one with each apply that changes the data or the overrides. */
  version: z.number().int().min(1),
  keys: z.array(KeySize),
  overrides: z.array(z.strictObject({ selector: LabelSelector, keys: z.array(KeySize) })),
  /** Deployments whose current template refers to it. */
  usedBy: z.array(Name),
  createdAt: IsoTime,
  updatedAt: IsoTime,
})
export type ConfigObjectView = z.infer<typeof ConfigObjectView>

export const ConfigObjectList = listOf(ConfigObjectView)
export type ConfigObjectList = z.infer<typeof ConfigObjectList>

/** Which version each copy that uses the object was given, as its node last reported (null: not reported yet). */
export const ConfigObjectCopy = z.strictObject({
  nodeId: NodeId,
  workload: Name,
  deployment: Name,
  /** The version the hub sends this copy. */
  desiredVersion: z.number().int().min(1).nullable(),
  /** The version the running container was given, as the node reported. */
  runningVersion: z.number().int().min(1).nullable(),
})
export type ConfigObjectCopy = z.infer<typeof ConfigObjectCopy>

/** One Config or Secret: a Config's data and overrides in full; a Secret's never. */
export const ConfigObjectDetail = ConfigObjectView.extend({
  data: ObjectData.optional().describe('Config only'),
  overrideData: z.array(DataOverride).optional().describe('Config only'),
  copies: z.array(ConfigObjectCopy),
})
export type ConfigObjectDetail = z.infer<typeof ConfigObjectDetail>

export const ConfigObjectDeleted = z.strictObject({ deleted: Name })
export type ConfigObjectDeleted = z.infer<typeof ConfigObjectDeleted>
