import { parseArgs } from 'node:util'

/**
 * Command-line flags with typed defaults: `{ seconds: 60, real: true, out: '' }` accepts
 * `--seconds 30`, `--real=false`, `--out FILE`. Numbers and booleans are parsed and checked;
 * an unknown flag stops the benchmark with the list of known ones.
 */
export function benchArgs(defaults, usage) {
  const options = Object.fromEntries(Object.keys(defaults).map((key) => [toFlag(key), { type: 'string' }]))
  options.help = { type: 'boolean' }
  let parsed
  try {
    parsed = parseArgs({ options, strict: true, allowPositionals: false }).values
  } catch (error) {
    fail(`${error.message}\n${describe(defaults, usage)}`)
  }
  if (parsed.help) {
    process.stderr.write(`${describe(defaults, usage)}\n`)
    process.exit(0)
  }
  const result = { ...defaults }
  for (const key of Object.keys(defaults)) {
    const text = parsed[toFlag(key)]
    if (text === undefined) continue
    const fallback = defaults[key]
    if (typeof fallback === 'number') {
      const value = Number(text)
      if (!Number.isFinite(value) || value < 0) fail(`--${toFlag(key)}: expected a non-negative number, got ${JSON.stringify(text)}`)
      result[key] = value
    } else if (typeof fallback === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(text)) fail(`--${toFlag(key)}: expected true or false, got ${JSON.stringify(text)}`)
      result[key] = text === 'true' || text === '1'
    } else if (Array.isArray(fallback)) {
      result[key] = text
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
    } else {
      result[key] = text
    }
  }
  return result
}

function toFlag(key) {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

function describe(defaults, usage) {
  const lines = Object.entries(defaults).map(([key, value]) => `  --${toFlag(key)} ${Array.isArray(value) ? value.join(',') : String(value)}`)
  return `${usage}\nflags (defaults shown):\n${lines.join('\n')}`
}

function fail(message) {
  process.stderr.write(`${message}\n`)
  process.exit(2)
}
