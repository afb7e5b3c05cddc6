// shoal convert end to end: the built CLI converts a Docker Compose file written for the test
// (an httpd health-checked from inside, a bind mount of /etc/localtime read-only, a named
// volume, log limits, a read-only sleeper with a tmpfs, a numeric user and no capabilities, a
// build-only service, depends_on and env_file), lists what it could not map with the file's
// lines, and its output validates, applies through `shoal apply -f -` to a real hub with one
// real agent, and runs in Docker as the compose file asked. Devices are left out here: device
// passthrough has its own tests. Every wait is for a condition.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { dockerClient, freePort, testImage, tempDir, waitFor } from '../support/index.js'
import { fetchText, uniqueNodeId } from '../support/agent-process.js'
import { deploymentContainers, startHubAgent, startHubProcess } from '../support/hub-process.js'
import { runSpawned } from './cli-harness.js'

t.setTimeout(240_000)

const dir = tempDir(t, 'cli-convert')
const env = { SHOAL_CONFIG: path.join(dir, 'config.yaml'), SHOAL_HUB: '', SHOAL_TOKEN: '' }

t.test('a compose file converted by the built CLI validates, applies and runs on a real agent', async (t) => {
  const image = testImage()
  const port = await freePort()
  const hub = await startHubProcess(t)
  const node = uniqueNodeId('conv')
  await startHubAgent(t, hub, { name: node })
  await waitFor(
    async () => {
      const [one] = await hub.nodes()
      return one?.online && one.condition.type === 'Ready' && one.generation.latest >= 1 && one.generation.observed === one.generation.latest
    },
    { what: 'the node Ready with its first document applied', timeoutMs: 30_000, intervalMs: 250 },
  )

  const composeFile = path.join(dir, 'docker-compose.yml')
  writeFileSync(
    composeFile,
    `services:
  web_front:
    image: ${image}
    network_mode: host
    entrypoint: ["sh", "-c"]
    command: ["mkdir -p /www && echo \\"$$GREETING\\" > /www/index.html && trap 'exit 0' TERM; httpd -f -p 127.0.0.1:${port} -h /www & wait"]
    environment:
      - GREETING=hello-compose
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:${port}/"]
      interval: 1s
      timeout: 2s
      retries: 3
    volumes:
      - /etc/localtime:/etc/localtime:ro
      - web-data:/data
    restart: unless-stopped
    logging:
      driver: json-file
      options: { max-size: 1m, max-file: "2" }
    stop_grace_period: 5s
    depends_on: [worker]
  worker:
    image: ${image}
    command: sh -c "trap 'exit 0' TERM; sleep 3600 & wait"
    network_mode: host
    user: "65534:65534"
    read_only: true
    tmpfs: ["/scratch:size=1m"]
    cap_drop: [ALL]
    env_file: worker.env
    deploy:
      replicas: 1
      resources:
        limits: { memory: 64M }
  builder:
    build: ./builder
volumes:
  web-data: {}
`,
  )

  const converted = await runSpawned(t, ['convert', '-f', composeFile], { env })
  t.equal(converted.code, 0, `convert exits 0${converted.code === 0 ? '' : ` (stderr: ${converted.err})`}`)
  const notMapped = converted.err.split('\n').filter((line) => line.includes(': not mapped ('))
  t.same(notMapped, [
    `${composeFile}:22: services.web_front.depends_on: not mapped (Shoal starts deployments independently and in no order; this one does not wait for worker)`,
    `${composeFile}:31: services.worker.env_file: not mapped (env files are not read; put the variables under environment, or in a Config referenced from env)`,
    `${composeFile}:37: services.builder.build: not mapped (Shoal runs images from a registry and does not build them; build and push the image, then set image:)`,
  ])
  t.match(converted.err, /converted 2 services to Deployments; 3 not mapped \(listed above\)\n$/)

  const deployFile = path.join(dir, 'deploy.yaml')
  writeFileSync(deployFile, converted.out)
  const validated = await runSpawned(t, ['validate', deployFile], { env })
  t.equal(validated.code, 0, `the output validates (${validated.out}${validated.err})`)
  t.equal(validated.out, `${deployFile}: 2 manifests valid (Deployment web-front, Deployment worker)\n`)

  const applied = await runSpawned(t, ['apply', '-f', '-', '--wait', '--timeout', '2m', '--hub', hub.apiUrl, '--token', hub.adminToken], {
    env,
    input: converted.out,
    timeoutMs: 150_000,
  })
  t.equal(applied.code, 0, `apply --wait exits 0${applied.code === 0 ? '' : ` (stderr: ${applied.err})`}`)
  t.match(applied.out, /deployment\/web-front created \(revision 1\)/)
  t.match(applied.out, /deployment\/worker created \(revision 1\)/)

  t.equal(
    await waitFor(async () => ((await fetchText(port).catch(() => '')) === 'hello-compose' ? 'hello-compose' : undefined), {
      what: 'the converted httpd to answer',
      timeoutMs: 30_000,
      intervalMs: 250,
    }),
    'hello-compose',
    'the entrypoint, the command and the environment ($$ kept as $) reach the container',
  )

  const docker = dockerClient()
  const running = async (deployment: string) => {
    const found = await deploymentContainers(deployment, [node])
    return found.length === 1 && found[0]?.state === 'running' ? found[0] : undefined
  }
  const web = await waitFor(() => running('web-front'), { what: 'web-front running', timeoutMs: 30_000, intervalMs: 250 })
  const worker = await waitFor(() => running('worker'), { what: 'worker running', timeoutMs: 30_000, intervalMs: 250 })

  const webInfo = await docker.getContainer(web.id).inspect()
  t.ok(
    webInfo.Mounts.some((mount) => mount.Type === 'bind' && mount.Source === '/etc/localtime' && mount.RW === false),
    '/etc/localtime bound read-only',
  )
  t.ok(
    webInfo.Mounts.some((mount) => mount.Type === 'volume' && mount.Destination === '/data'),
    'the named volume web-data at /data',
  )
  t.same(
    webInfo.HostConfig.LogConfig,
    { Type: 'json-file', Config: { 'max-size': '1000000', 'max-file': '2' } },
    'max-size 1m is 10^6 bytes, as Docker counts it',
  )
  t.equal(webInfo.HostConfig.NetworkMode, 'host')
  t.same(webInfo.Config.Healthcheck?.Test, ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${port}/`])
  t.equal(
    await waitFor(async () => ((await docker.getContainer(web.id).inspect()).State.Health?.Status === 'healthy' ? 'healthy' : undefined), {
      what: 'web-front healthy',
      timeoutMs: 30_000,
      intervalMs: 250,
    }),
    'healthy',
  )

  const workerInfo = await docker.getContainer(worker.id).inspect()
  t.equal(workerInfo.Config.User, '65534:65534')
  t.equal(workerInfo.HostConfig.ReadonlyRootfs, true)
  t.same(Object.keys(workerInfo.HostConfig.Tmpfs ?? {}), ['/scratch'])
  t.same(workerInfo.HostConfig.CapDrop, ['ALL'])
  t.equal(workerInfo.HostConfig.Memory, 64 * 1024 * 1024, 'memory 64M is 64Mi, as Docker counts memory')
  t.same(workerInfo.Config.Cmd, ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], 'the command string split into words as compose does')
})
