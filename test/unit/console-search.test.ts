// The console's search box (what it takes for a label selector, what for free text, and what free
// text finds) and the labels its nodes table shows.
import t from 'tap'
import { shownLabels } from '../../hub/console/src/label-columns.js'
import { bulkRequest, movingDeployments } from '../../hub/console/src/bulk-input.js'
import { classifySearch, searchHint, textMatches } from '../../hub/console/src/search.js'

t.test('a selector is recognized by its marks; anything else is free text', async (t) => {
  t.same(classifySearch('   '), { kind: 'empty' })
  for (const selector of ['site=alpha', 'site==alpha', 'tier!=edge', '!gpu', 'tier in (edge,gateway)', 'tier notin (edge)', 'site=a,tier in (b)'])
    t.same(classifySearch(` ${selector} `), { kind: 'selector', selector }, selector)
  for (const text of ['pi-17', 'pi-1', 'factory-7', 'gpu', 'in', 'tier in']) t.same(classifySearch(text), { kind: 'text', text }, text)
})

t.test('free text finds names, prefixes, fragments, label keys and values, ignoring case', async (t) => {
  const labels = { site: 'Factory-7', gpu: 'true' }
  t.ok(textMatches('pi-17', 'pi-17', labels), 'the exact name')
  t.ok(textMatches('pi-1', 'pi-17', labels), 'a prefix')
  t.ok(textMatches('PI-17', 'pi-17', labels), 'any case')
  t.ok(textMatches('factory', 'pi-17', labels), 'a label value')
  t.ok(textMatches('gpu', 'pi-17', labels), 'a label key')
  t.notOk(textMatches('pi-18', 'pi-17', labels), 'another name')
  t.notOk(textMatches('x', 'pi-17'), 'no labels at all')
})

t.test('the hint says what the box did', async (t) => {
  t.match(searchHint({ kind: 'empty' }, 'node'), /a node name, a label value, or a label selector/)
  t.equal(searchHint({ kind: 'text', text: 'pi-1' }, 'node'), 'nodes whose name or labels contain “pi-1”')
  t.equal(searchHint({ kind: 'selector', selector: 'site=a' }, 'deployment'), 'label selector site=a')
})

t.test('the nodes table shows the labels chosen, else the node’s own before its profile’s', async (t) => {
  const labels = { 'device-class': 'raspberry-pi', tier: 'edge', site: 'factory-7', team: 'line' }
  const fromProfile = ['device-class', 'tier']
  t.same(
    shownLabels(labels, fromProfile, null),
    [
      ['site', 'factory-7'],
      ['team', 'line'],
      ['device-class', 'raspberry-pi'],
      ['tier', 'edge'],
    ],
    'default: the operator’s labels first, each group by key',
  )
  t.same(
    shownLabels(labels, fromProfile, ['tier', 'site', 'absent']),
    [
      ['tier', 'edge'],
      ['site', 'factory-7'],
    ],
    'chosen: those keys in the order chosen; a key the node lacks is skipped',
  )
})

t.test('the bulk bar reads key=value pairs to set and keys to remove; the hub judges the keys', async (t) => {
  t.same(bulkRequest('label', ['a', 'b'], ' site=x, tier=edge '), { request: { nodes: ['a', 'b'], action: 'label', labels: { site: 'x', tier: 'edge' } } })
  t.same(bulkRequest('label', ['a'], 'site='), { request: { nodes: ['a'], action: 'label', labels: { site: '' } } }, 'an empty value is a value')
  t.same(bulkRequest('label', ['a'], 'site'), { problem: '"site" is not key=value' })
  t.same(bulkRequest('label', ['a'], 'a=1 a=2'), { problem: 'a is given twice' })
  t.same(bulkRequest('label', ['a'], '  '), { problem: 'type the labels to set, as key=value' })
  t.same(bulkRequest('unlabel', ['a'], 'site tier- site'), { request: { nodes: ['a'], action: 'unlabel', keys: ['site', 'tier'] } })
  t.same(bulkRequest('unlabel', ['a'], 'site=x'), { problem: 'type only the keys to remove, without values' })
  t.same(bulkRequest('drain', ['a', 'b'], 'ignored'), { request: { nodes: ['a', 'b'], action: 'drain' } })
  t.same(bulkRequest('cordon', [], ''), { problem: 'select at least one node' })
  t.same(movingDeployments([{ deployment: 'web' }, { deployment: 'db' }, { deployment: 'web' }]), ['db', 'web'])
})
