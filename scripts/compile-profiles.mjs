// Build step: dist/firmware-profiles/catalog.json, the YAML profiles beside it compiled to JSON so
// the agent reads them without loading a YAML parser (firmware-profiles/catalog.ts says why).
import { fileURLToPath } from 'node:url'
import { writeProfileCatalog } from '../dist/firmware-profiles/catalog.js'

await writeProfileCatalog(fileURLToPath(new URL('../dist/firmware-profiles/', import.meta.url)))
