import { z } from 'zod'
import { API_VERSION, ObjectMeta } from './object-meta.js'
import { LabelSelector, selectorMatches } from './selector.js'

/** A Config's base data and overrides together; it travels in every document that uses it. */
export const MAX_CONFIG_BYTES = 128 * 1024
/** A Secret's, before sealing (which adds about a third). */
export const MAX_SECRET_BYTES = 32 * 1024

/** A key of a Config or Secret: also the file name when mounted, so no slashes and never . or .. */
export const DataKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, ".", "-" or "_" (it is also a file name when mounted)')
  .refine((key) => key !== '.' && key !== '..', 'cannot be "." or ".."')

export const ObjectData = z.record(DataKey, z.string())
export type ObjectData = z.infer<typeof ObjectData>

/** Values for the nodes whose labels match, laid over the base data; later overrides win. */
export const DataOverride = z.strictObject({
  selector: LabelSelector,
  data: ObjectData,
})
export type DataOverride = z.infer<typeof DataOverride>

function objectKind<K extends 'Config' | 'Secret'>(kind: K, maxBytes: number) {
  return z
    .strictObject({
      apiVersion: z.literal(API_VERSION),
      kind: z.literal(kind),
      metadata: ObjectMeta,
      data: ObjectData,
      overrides: z.array(DataOverride).max(64).optional(),
    })
    .superRefine((object, ctx) => {
      const bytes = dataBytes(object.data) + (object.overrides ?? []).reduce((sum, override) => sum + dataBytes(override.data), 0)
      if (bytes > maxBytes)
        ctx.addIssue({
          code: 'custom',
          path: ['data'],
          message: `${bytes} bytes of data (base and overrides together) is over the ${maxBytes}-byte limit for a ${kind}`,
        })
    })
}

/** Configuration a workload reads as environment variables or files: a PLC address, a calibration. */
export const Config = objectKind('Config', MAX_CONFIG_BYTES)
export type Config = z.infer<typeof Config>

/** Like Config, but sealed to each node that needs it and never shown once applied. */
export const Secret = objectKind('Secret', MAX_SECRET_BYTES)
export type Secret = z.infer<typeof Secret>

export type ConfigObject = Config | Secret
export type ConfigObjectKind = ConfigObject['kind']

/** Keys and values as UTF-8 bytes. */
export function dataBytes(data: Readonly<Record<string, string>>): number {
  let bytes = 0
  for (const [key, value] of Object.entries(data)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value)
  return bytes
}

/** What one node gets of an object: the base data with every matching override laid over it, in order. */
export interface ResolvedData {
  readonly data: ObjectData
  /** Indexes of the overrides that matched, so a change of labels shows as a change of what runs. */
  readonly overrides: readonly number[]
}

/** Pure: the object's data for a node with these labels. */
export function resolveData(
  object: { readonly data: Readonly<Record<string, string>>; readonly overrides?: readonly DataOverride[] | undefined },
  labels: Readonly<Record<string, string>>,
): ResolvedData {
  const data: Record<string, string> = { ...object.data }
  const matched: number[] = []
  ;(object.overrides ?? []).forEach((override, index) => {
    if (!selectorMatches(override.selector, labels)) return
    matched.push(index)
    Object.assign(data, override.data)
  })
  return { data, overrides: matched }
}
