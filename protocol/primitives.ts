import { z } from 'zod'

/** Names used in topics, subjects, container names and DNS: lower-case, digits and dashes. */
export const Name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits and "-", starting and ending with a letter or digit (max 63)')

/** Node ids end up inside MQTT topics and NATS subjects, so they never hold `/ + # . * >`. */
export const NodeId = Name

export const LabelKey = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
    'must be an optional DNS prefix and "/", then letters, digits, "-", "_" or "." (like Kubernetes label keys)',
  )

export const LabelValue = z
  .string()
  .max(63)
  .regex(
    /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/,
    'must be empty or letters, digits, "-", "_" or ".", starting and ending with a letter or digit (max 63)',
  )

export const Labels = z.record(LabelKey, LabelValue)
export type Labels = z.infer<typeof Labels>

/** Durations as operators write them: "500ms", "10s", "5m", "1h30m", "2d". */
export const Duration = z.string().regex(/^(\d+(ms|s|m|h|d))+$/, 'must be a duration such as 500ms, 10s, 5m, 1h30m or 2d')

export const IsoTime = z.iso.datetime({ offset: true })

export const Arch = z.enum(['amd64', 'arm64', 'arm', 'riscv64', '386', 'ppc64le', 's390x'])
export type Arch = z.infer<typeof Arch>

export const Generation = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
export const Seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
