// Images of their own for tests that must see a real download: the test image with one more
// layer of random bytes, pushed to the run's loopback registry and removed locally.
import type { Test } from 'tap'
import { dockerClient, pushImage } from './docker.js'
import { testImage, testRegistry, testRunId } from './env.js'

/**
 * The test image with one more layer of incompressible bytes, pushed to the loopback registry
 * and removed locally (the busybox layer stays: a pull downloads only the new one). Resolves to
 * the reference and the compressed size of that layer as the registry stores it.
 */
export async function pushUniqueImage(t: Test, word: string): Promise<{ ref: string; layerBytes: number }> {
  const docker = dockerClient()
  const registry = testRegistry()
  const name = `shoal-test/${word}-${testRunId()}-${Math.random().toString(16).slice(2, 10)}`
  const ref = `${registry}/${name}:1`
  const builder = await docker.createContainer({
    Image: testImage(),
    Cmd: ['sh', '-c', 'head -c 400000 /dev/urandom > /blob'],
    Labels: { 'io.shoal.test-run': testRunId() },
  })
  t.teardown(() => builder.remove({ force: true }).catch(() => undefined))
  await builder.start()
  await builder.wait()
  await builder.commit({ repo: `${registry}/${name}`, tag: '1' })
  t.teardown(() =>
    docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined),
  )
  t.notOk(await pushImage(ref, registry), 'the image was pushed')
  await docker.getImage(ref).remove()
  await builder.remove({ force: true })
  const response = await fetch(`http://${registry}/v2/${name}/manifests/1`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  })
  t.equal(response.status, 200, 'the registry has its manifest')
  const manifest = (await response.json()) as { layers: Array<{ size: number }> }
  const layerBytes = manifest.layers.at(-1)?.size ?? 0
  t.ok(layerBytes > 300_000, `the new layer is ${layerBytes} bytes compressed`)
  return { ref, layerBytes }
}

export async function imagePresent(ref: string): Promise<boolean> {
  return dockerClient()
    .getImage(ref)
    .inspect()
    .then(
      () => true,
      () => false,
    )
}
