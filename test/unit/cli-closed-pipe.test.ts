import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// `shoal ... | head` closes the pipe before the CLI has written everything: the built CLI (dist,
// which ./scripts/test builds first) must end quietly, not with an unhandled EPIPE and its stack.
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))

t.test('a reader that closes the pipe early ends the CLI quietly, exit code 0', async (t) => {
  t.ok(existsSync(main), 'the build is there')
  const child = spawn(process.execPath, [main, 'get', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
  // Closed before the first byte is read, like `head -0`: every write the CLI makes meets EPIPE.
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
  t.same({ code, signal }, { code: 0, signal: null })
  t.equal(stderr, '', 'nothing on stderr: no EPIPE, no stack trace')
})
