// YAML in, YAML out (issue 16, item 6): a deployment's manifest comes back as it was applied, the
// fields in the order written and no defaults, unless it changed since without an apply.
import t from 'tap'
import { parse } from 'yaml'
import { manifestYaml } from '../../hub/deployments/manifest-yaml.js'
import { Deployment } from '../../protocol/index.js'
import { parseManifests } from '../../protocol/manifest-parse.js'

const written = `apiVersion: shoal/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    network: host
    image: nginx:1
    command: [nginx, -g, daemon off;]
  replicas: 2
`

t.test('as applied: the order written, no defaults', async (t) => {
  const [parsed] = parseManifests(written).manifests
  const manifest = parsed?.manifest as Deployment
  const yaml = manifestYaml({ manifest, applied: parsed?.written ?? null })
  t.same(Object.keys(parse(yaml).spec), ['template', 'replicas'], 'spec fields in the order written')
  t.same(Object.keys(parse(yaml).spec.template), ['network', 'image', 'command'])
  t.notMatch(yaml, /strategy|offlineGrace|restartPolicy/, 'no defaults filled in')
})

t.test('the stored manifest when it changed without an apply (a rollout undo), or none was kept', async (t) => {
  const [parsed] = parseManifests(written).manifests
  const manifest = parsed?.manifest as Deployment
  const undone = { ...manifest, spec: { ...manifest.spec, template: { ...manifest.spec.template, image: 'nginx:0' } } } as Deployment
  const yaml = manifestYaml({ manifest: undone, applied: parsed?.written ?? null })
  t.equal(parse(yaml).spec.template.image, 'nginx:0', 'what runs, not what was applied before')
  t.match(yaml, /offlineGrace: 5m/, 'with its defaults')
  t.equal(parse(manifestYaml({ manifest, applied: null })).metadata.name, 'web')
})
