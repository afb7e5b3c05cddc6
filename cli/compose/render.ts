import { Document } from 'yaml'
import type { ConvertResult } from './convert.js'
import { type ConvertNote, formatNote } from './notes.js'

/**
 * The Deployments as YAML, `---` between them, each headed by a comment naming its service and
 * repeating that service's notes, so a file written from stdout still says what was left out.
 */
export function renderManifests(result: ConvertResult, file: string): string {
  return result.deployments
    .map(({ service, line, manifest }) => {
      const prefix = `services.${service}`
      const own = result.notes.filter((note) => note.path === prefix || note.path.startsWith(`${prefix}.`) || note.path.startsWith(`${prefix}[`))
      const header = [`converted by shoal convert from ${prefix} (${line === undefined ? file : `${file}:${line}`})`, ...own.map((note) => comment(note, file))]
      return `${header.map((text) => `# ${text}\n`).join('')}${new Document(manifest).toString({ lineWidth: 0 })}`
    })
    .join('---\n')
}

function comment(note: ConvertNote, file: string): string {
  return formatNote(note, file).replaceAll('\n', ' ')
}
