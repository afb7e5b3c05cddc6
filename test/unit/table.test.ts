import t from 'tap'
import { formatAge, renderTable } from '../../cli/table.js'

const NOW = Date.parse('2025-06-01T12:00:00.000Z')
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString()

t.test('renders left-aligned columns two spaces apart, like kubectl', async (t) => {
  const output = renderTable(
    ['NAME', 'STATE', 'AGE', 'MESSAGE'],
    [
      ['ticker-ingest', 'running', '3m', ''],
      ['exporter', 'crash-loop', '45s', 'exit code 2'],
      ['a', 'pending', '2d', 'pulling registry.example/ingest:1.4'],
    ],
  )
  const golden = [
    'NAME           STATE       AGE  MESSAGE',
    'ticker-ingest  running     3m',
    'exporter       crash-loop  45s  exit code 2',
    'a              pending     2d   pulling registry.example/ingest:1.4',
    '',
  ].join('\n')
  t.equal(output, golden)
})

t.test('a column is as wide as its widest cell or header', async (t) => {
  t.equal(
    renderTable(
      ['N', 'X'],
      [
        ['long-name', '1'],
        ['b', '2'],
      ],
    ),
    'N          X\nlong-name  1\nb          2\n',
  )
  t.equal(renderTable(['NODE-IDENTIFIER', 'X'], [['a', '1']]), 'NODE-IDENTIFIER  X\na                1\n')
})

t.test('no trailing spaces: the last column is not padded, and empty trailing cells leave nothing', async (t) => {
  const output = renderTable(
    ['A', 'B', 'C'],
    [
      ['x', '', ''],
      ['yyyy', 'z', ''],
    ],
  )
  t.equal(output, 'A     B  C\nx\nyyyy  z\n')
  for (const line of output.split('\n')) t.notMatch(line, / $/, JSON.stringify(line))
})

t.test('a table with no rows is its header line', async (t) => {
  t.equal(renderTable(['NAME', 'STATE'], []), 'NAME  STATE\n')
})

t.test('short rows render what they have', async (t) => {
  t.equal(renderTable(['NAME', 'STATE', 'AGE'], [['a'], ['bb', 'running']]), 'NAME  STATE    AGE\na\nbb    running\n')
})

t.test('ages: seconds below 2 minutes, minutes below 2 hours, hours below 2 days, then days', async (t) => {
  const table: readonly [number, string][] = [
    [0, '0s'],
    [1, '1s'],
    [59, '59s'],
    [119, '119s'],
    [120, '2m'],
    [179, '2m'],
    [180, '3m'],
    [7_199, '119m'],
    [7_200, '2h'],
    [48 * 3600 - 1, '47h'],
    [48 * 3600, '2d'],
    [3 * 86_400 - 1, '2d'],
    [365 * 86_400, '365d'],
  ]
  for (const [seconds, expected] of table) t.equal(formatAge(ago(seconds), NOW), expected, `${seconds} s ago`)
})

t.test('ages round down to whole seconds', async (t) => {
  t.equal(formatAge(new Date(NOW - 119_999).toISOString(), NOW), '119s')
  t.equal(formatAge(new Date(NOW - 999).toISOString(), NOW), '0s')
})

t.test('a time in the future (clock skew) is 0s; an unreadable time is ?', async (t) => {
  t.equal(formatAge(new Date(NOW + 60_000).toISOString(), NOW), '0s')
  t.equal(formatAge('not a time', NOW), '?')
  t.equal(formatAge('', NOW), '?')
})

t.test('without a now, ages are measured from the current time', async (t) => {
  t.equal(formatAge(new Date(Date.now() - 10 * 60_000).toISOString()), '10m')
})
