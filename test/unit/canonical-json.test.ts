import t from 'tap'
import { canonicalJson } from '../../protocol/canonical-json.js'

t.test('object keys are sorted, so key order never changes the encoding', async (t) => {
  t.equal(canonicalJson({ b: 1, a: 2, c: { z: true, y: null } }), '{"a":2,"b":1,"c":{"y":null,"z":true}}')
  t.equal(canonicalJson({ c: { y: null, z: true }, a: 2, b: 1 }), canonicalJson({ b: 1, a: 2, c: { z: true, y: null } }))
})

t.test('arrays keep their order, nested in objects and objects nested in them', async (t) => {
  t.equal(canonicalJson([3, 1, 2]), '[3,1,2]')
  t.equal(canonicalJson({ list: [{ b: 1, a: [2, { d: 4, c: 3 }] }, [], {}] }), '{"list":[{"a":[2,{"c":3,"d":4}],"b":1},[],{}]}')
  t.equal(canonicalJson([]), '[]')
  t.equal(canonicalJson({}), '{}')
})

t.test('there is no whitespace, and the output parses back to the same value', async (t) => {
  const value = { name: 'web', replicas: 3, labels: { 'example.com/zone': 'a b' }, ports: [80, 443], on: false, none: null }
  const text = canonicalJson(value)
  t.notMatch(text.replace(/"[^"]*"/g, '""'), /\s/, 'no whitespace outside strings')
  t.same(JSON.parse(text), value)
  t.equal(canonicalJson(JSON.parse(text)), text, 'encoding is idempotent')
})

t.test('strings are escaped as ECMAScript JSON does: non-ASCII as is, control characters escaped', async (t) => {
  t.equal(canonicalJson('é ü 漢字 🚀'), '"é ü 漢字 🚀"')
  t.equal(canonicalJson('quote " backslash \\ newline \n tab \t bell \u0007'), '"quote \\" backslash \\\\ newline \\n tab \\t bell \\u0007"')
  t.equal(canonicalJson('\ud800'), '"\\ud800"', 'a lone surrogate is escaped, so the output is valid UTF-8')
})

t.test('keys are sorted by UTF-16 code unit, as RFC 8785 says', async (t) => {
  // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF by code unit (after it by code point).
  t.equal(canonicalJson({ '\uffff': 1, '😀': 2, é: 3, Z: 4, a: 5, '': 6 }), '{"":6,"Z":4,"a":5,"é":3,"😀":2,"\uffff":1}')
})

t.test('numbers are written the ECMAScript way', async (t) => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '0'],
    [0.1, '0.1'],
    [1e21, '1e+21'],
    [1e20, '100000000000000000000'],
    [1e-7, '1e-7'],
    [0.000001, '0.000001'],
    [-1.5, '-1.5'],
    [5e-324, '5e-324'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [0.1 + 0.2, '0.30000000000000004'],
  ]
  for (const [value, text] of cases) t.equal(canonicalJson(value), text, String(value))
  t.equal(canonicalJson({ n: -0 }), '{"n":0}')
})

t.test('undefined is dropped from objects and becomes null in arrays, as in JSON.stringify', async (t) => {
  t.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}')
  t.equal(canonicalJson([undefined, 1]), '[null,1]')
})

t.test('objects without a prototype are plain objects too', async (t) => {
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 2, a: 1 })
  t.equal(canonicalJson(bare), '{"a":1,"b":2}')
})

t.test('values JSON cannot hold faithfully are refused', async (t) => {
  const refused: [string, unknown][] = [
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['NaN nested in an object', { a: { b: NaN } }],
    ['Infinity nested in an array', [1, [Infinity]]],
    ['a function', () => 1],
    ['a function in an object', { f: () => 1 }],
    ['a function in an array', [() => 1]],
    ['a bigint', 10n],
    ['a bigint in an object', { n: 10n }],
    ['a symbol', Symbol('s')],
    ['undefined itself', undefined],
    ['a Date (it would encode as {})', new Date(0)],
    ['a Map (it would encode as {})', new Map([['a', 1]])],
    [
      'a class instance',
      new (class Point {
        x = 1
      })(),
    ],
  ]
  for (const [what, value] of refused) t.throws(() => canonicalJson(value), TypeError, what)
})
