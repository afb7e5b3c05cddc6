import t from 'tap'
import { LogPrinter, ndjsonLines, toQuery } from '../../cli/commands/logs.js'
import { CliError, ExitCode, type CliIo } from '../../cli/io.js'
import { runCli } from '../../cli/program.js'

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (text: string) => {
      io.stdout += text
    },
    err: (text: string) => {
      io.stderr += text
    },
  }
  return io
}

const record = (value: unknown): string => JSON.stringify(value)

t.test('toQuery turns flags into the API query', async (t) => {
  t.equal(toQuery({ followFor: '10m' }).toString(), '')
  t.equal(toQuery({ node: 'pi-1', tail: '20', since: '10m', followFor: '10m' }).toString(), 'node=pi-1&tail=20&since=10m')
  t.equal(toQuery({ follow: true, followFor: '2m' }).toString(), 'follow=true&followSeconds=120')
  t.equal(toQuery({ since: '2025-03-01T12:00:00Z', followFor: '10m' }).get('since'), '2025-03-01T12:00:00Z')
})

t.test('toQuery refuses bad flags as usage errors', async (t) => {
  for (const [options, pattern] of [
    [{ tail: '-3', followFor: '10m' }, /--tail must be a whole number from 0 to 10000/],
    [{ tail: '20000', followFor: '10m' }, /--tail/],
    [{ since: 'last tuesday', followFor: '10m' }, /--since must be a duration such as 10m or an RFC 3339 time/],
    [{ follow: true, followFor: 'forever' }, /--follow-for must be a duration/],
    [{ follow: true, followFor: '11m' }, /--follow-for must be between 1s and 10m/],
  ] as const) {
    let caught: unknown
    try {
      toQuery(options)
    } catch (error) {
      caught = error
    }
    t.ok(caught instanceof CliError && caught.exitCode === ExitCode.usage, `${JSON.stringify(options)}: a usage error`)
    t.match((caught as Error | undefined)?.message, pattern)
  }
})

t.test('prints stdout lines to stdout and stderr lines to stderr, prefixed when several nodes', async (t) => {
  const io = capture()
  const printer = new LogPrinter(io, { output: 'text' })
  printer.take(
    record({
      type: 'start',
      targets: [
        { node: 'pi-1', workload: 'web' },
        { node: 'pi-2', workload: 'web' },
      ],
    }),
  )
  printer.take(record({ type: 'line', node: 'pi-1', workload: 'web', stream: 'stdout', text: 'hello' }))
  printer.take(record({ type: 'line', node: 'pi-2', workload: 'web', stream: 'stderr', text: 'oops' }))
  printer.take(record({ type: 'gap', node: 'pi-2', workload: 'web', missing: 2 }))
  printer.take(record({ type: 'end' }))
  printer.finish()
  t.equal(io.stdout, '[pi-1] hello\n')
  t.equal(io.stderr, '[pi-2] oops\n[pi-2] (2 chunk(s) of this log were lost in transit)\n')
})

t.test('one node: no prefix unless asked; timestamps when asked', async (t) => {
  const plain = capture()
  const one = new LogPrinter(plain, { output: 'text' })
  one.take(record({ type: 'start', targets: [{ node: 'pi-1', workload: 'web' }] }))
  one.take(record({ type: 'line', node: 'pi-1', workload: 'web', stream: 'stdout', text: 'a', at: '2025-03-01T12:00:00.1Z' }))
  t.equal(plain.stdout, 'a\n')
  const stamped = capture()
  const two = new LogPrinter(stamped, { output: 'text', timestamps: true, prefix: true })
  two.take(record({ type: 'line', node: 'pi-1', workload: 'web', stream: 'stdout', text: 'a', at: '2025-03-01T12:00:00.1Z' }))
  t.equal(stamped.stdout, '[pi-1] 2025-03-01T12:00:00.1Z a\n')
})

t.test('a node error is shown when it comes and fails the command at the end', async (t) => {
  const io = capture()
  const printer = new LogPrinter(io, { output: 'text' })
  printer.take(record({ type: 'error', node: 'pi-2', workload: 'web', code: 'node-offline', message: 'node pi-2 is offline since 2025-03-01T12:00:00.000Z' }))
  printer.take(record({ type: 'end' }))
  t.equal(io.stderr, 'error: node pi-2 is offline since 2025-03-01T12:00:00.000Z\n')
  t.throws(() => printer.finish(), /could not be read to its end/)
})

t.test('json output passes records through; a cut stream is an error', async (t) => {
  const io = capture()
  const printer = new LogPrinter(io, { output: 'json' })
  const line = record({ type: 'line', node: 'pi-1', workload: 'web', stream: 'stderr', text: 'x' })
  printer.take(line)
  t.equal(io.stdout, `${line}\n`)
  t.equal(io.stderr, '')
  t.throws(() => printer.finish(), /closed the log stream before its end/)
  t.throws(() => printer.take('{broken'), /not JSON/)
})

t.test('ndjsonLines splits across chunk boundaries and skips keep-alives', async (t) => {
  const encoder = new TextEncoder()
  async function* body() {
    yield encoder.encode('{"a":1}\n\n{"b"')
    yield encoder.encode(':2}\n')
    yield encoder.encode('\n{"c":"é')
    yield encoder.encode('"}')
  }
  const lines: string[] = []
  for await (const line of ndjsonLines(body())) lines.push(line)
  t.same(lines, ['{"a":1}', '{"b":2}', '{"c":"é"}'])
  const none: string[] = []
  for await (const line of ndjsonLines(null)) none.push(line)
  t.same(none, [])
})

t.test('shoal logs --help has an example; bad flags exit 2', async (t) => {
  const io = capture()
  t.equal(await runCli(['logs', '--help'], io), ExitCode.ok)
  t.match(io.stdout, /Examples:\n\s+\$ shoal logs ticker-ingest --tail 50/)
  t.match(io.stdout, /--follow-for <duration>/)
  const bad = capture()
  t.equal(await runCli(['logs', 'web', '--tail', 'lots', '--hub', 'http://127.0.0.1:9', '--token', 'x'], bad), ExitCode.usage)
  t.match(bad.stderr, /--tail must be a whole number/)
})

t.test('an unreachable hub is an error that says so', async (t) => {
  const io = capture()
  t.equal(await runCli(['logs', 'web', '--hub', 'http://127.0.0.1:9', '--token', 'x'], io), ExitCode.failed)
  t.match(io.stderr, /cannot reach the hub at http:\/\/127\.0\.0\.1:9/)
})
