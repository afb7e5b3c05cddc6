import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestLike } from './types.js'

/**
 * A fresh directory, removed when the test ends. Under scripts/test's own
 * temp dir when there is one, so a crashed test leaves nothing behind.
 */
export function tempDir(t: TestLike, prefix = 'shoal'): string {
  const base = process.env.SHOAL_TMP || os.tmpdir()
  const dir = mkdtempSync(path.join(base, `${prefix}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
