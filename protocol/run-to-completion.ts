import type { z } from 'zod'
import { isPodTemplate, type WorkloadTemplate } from './pod-template.js'

/**
 * Templates whose containers run to completion (a Job's copies, a CronJob's runs): a restartPolicy
 * left out means `never` there (a container template's own default is `always`, which would never
 * finish). Set before the template's schema applies its defaults, since after that an omitted
 * field cannot be told from a written one.
 */
export function neverByDefault(template: unknown): unknown {
  if (typeof template !== 'object' || template === null || Array.isArray(template)) return template
  const fields = template as Record<string, unknown>
  const withNever = (container: unknown): unknown =>
    typeof container === 'object' && container !== null && !Array.isArray(container) && !('restartPolicy' in container)
      ? { ...container, restartPolicy: 'never' }
      : container
  if (Array.isArray(fields.containers)) return { ...fields, containers: fields.containers.map(withNever) }
  return withNever(fields)
}

/** An issue at `path` (the template's) for each container whose restartPolicy is not never, saying `message`. */
export function refuseRestarts(template: WorkloadTemplate, path: readonly (string | number)[], message: string, ctx: z.RefinementCtx): void {
  if (isPodTemplate(template)) {
    template.containers.forEach((container, index) => {
      if (container.restartPolicy !== 'never') ctx.addIssue({ code: 'custom', path: [...path, 'containers', index, 'restartPolicy'], message })
    })
  } else if (template.restartPolicy !== 'never') {
    ctx.addIssue({ code: 'custom', path: [...path, 'restartPolicy'], message })
  }
}
