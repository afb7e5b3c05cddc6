// Issue 19 on real agents and the real Docker engine: a device waited for, passed in without
// privileges, read by the container and unplugged again; the node policy refusing what it does not
// allow while another node with a wider policy runs it; host paths, user, read-only root and tmpfs
// as the container sees them; and a container writing 50 MB of log leaving no more than its cap on
// disk.
//
// The device is a loop block device over a file the test wrote, linked into /dev under a name of
// this run: a pseudo-terminal cannot stand in for the serial adapter, because the kernel refuses to
// open a pty through a device node outside its devpts instance (EIO), which is what a container's
// /dev is.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { DEFAULT_NODE_POLICY, type NodeStatus, type WorkloadStatus } from '../../protocol/index.js'
import { nodeContainers, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble, type WorkloadInput } from '../support/hub-double.js'
import { dockerClient, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(240_000)
const execFileAsync = promisify(execFile)

async function containerLogs(id: string): Promise<string> {
  const { stdout, stderr } = await execFileAsync('docker', ['logs', '--tail', '200', id], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 })
  return stdout + stderr
}

const workloadOf = (status: NodeStatus | undefined, name: string): WorkloadStatus | undefined => status?.workloads.find((w) => w.name === name)

t.test('edge workloads on real agents', async (t) => {
  const image = testImage()
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'edge-workloads')
  // A device name of this run only, so parallel runs and the machine's own devices never meet it.
  const device = `/dev/shoaltest${process.pid}x${Date.now() % 100_000}`
  const pattern = `${device}*`
  const strict = uniqueNodeId('strict')
  const wide = uniqueNodeId('wide')
  await startAgentProcess(t, {
    nodeId: strict,
    dataDir: path.join(dir, strict),
    hubUrl: broker.url,
    hubKey: hub.publicKey,
    extraArgs: ['--device-pattern', pattern],
  })
  await startAgentProcess(t, {
    nodeId: wide,
    dataDir: path.join(dir, wide),
    hubUrl: broker.url,
    hubKey: hub.publicKey,
    extraArgs: ['--allow-privileged', '--allow-capability', 'NET_ADMIN', '--allow-host-path', `${dir}:rw`],
  })

  const sleeper = (name: string, template: Record<string, unknown>): WorkloadInput => ({
    name,
    deployment: name,
    revision: 1,
    template: { image, command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"], ...template },
  })
  const serial: WorkloadInput = {
    name: 'serial',
    deployment: 'serial',
    revision: 1,
    // The copy keeps running after its read, so the test sees it say its device went away.
    template: { image, command: ['sh', '-c', 'head -n1 /dev/ttyUSB0; sleep 3600'], devices: [{ path: device, containerPath: '/dev/ttyUSB0' }] },
  }
  // Privileged containers cannot start on this test machine (its own bounding set lacks a
  // capability), so privileged is checked as refused only; capabilities run for real.
  const privileged = sleeper('priv', { securityContext: { privileged: true } })
  const vpn = sleeper('vpn', { securityContext: { capabilities: { add: ['NET_ADMIN'] } } })
  const data = sleeper('data', { volumes: [{ hostPath: dir, path: '/data' }] })

  await t.test('each node reports its policy and devices; what its policy forbids is refused, the wider node runs it', async (t) => {
    await hub.publishDesired(strict, [serial, privileged, vpn, data], 1)
    await hub.publishDesired(wide, [vpn, data], 1)
    const refused = await hub.waitForStatus(
      strict,
      (s) => ['priv', 'vpn', 'data'].every((name) => workloadOf(s, name)?.state === 'failed') && workloadOf(s, 'serial') !== undefined,
      { what: 'priv, vpn and data refused on the strict node' },
    )
    t.equal(workloadOf(refused, 'priv')?.message, 'refused by node policy: privileged not allowed')
    t.equal(workloadOf(refused, 'vpn')?.message, 'refused by node policy: capability NET_ADMIN not allowed')
    t.equal(workloadOf(refused, 'data')?.message, `refused by node policy: host path ${dir} not allowed`)
    t.same(refused.policy, { ...DEFAULT_NODE_POLICY, devices: [...DEFAULT_NODE_POLICY.devices, pattern] }, 'the default policy with the flag’s pattern')
    t.same(refused.devices, [], 'no device yet')
    t.match(workloadOf(refused, 'serial'), { state: 'pending', message: `waiting for device ${device}` })
    t.same(
      (await nodeContainers(strict)).map((c) => c.workload),
      [],
      'nothing of the refused or waiting workloads runs',
    )

    const running = await waitForRunning(wide, ['vpn', 'data'])
    const vpnInspect = await dockerClient()
      .getContainer(running.get('vpn')?.id ?? '')
      .inspect()
    t.same(vpnInspect.HostConfig.CapAdd, ['NET_ADMIN'], 'the capability where the node allows it')
    t.notOk(vpnInspect.HostConfig.Privileged)
    const wideStatus = await hub.waitForStatus(wide, (s) => workloadOf(s, 'vpn')?.state === 'running')
    t.match(wideStatus.policy, { privileged: true, capabilities: ['NET_ADMIN'] })
    writeFileSync(path.join(dir, 'written-by-test'), 'hello')
    const { stdout } = await execFileAsync('docker', ['exec', running.get('data')?.id ?? '', 'cat', '/data/written-by-test'], { timeout: 20_000 })
    t.equal(stdout, 'hello', 'the host path is mounted, read-write as the node allows')
  })

  await t.test('a device: waited for, passed in without privileges, read by the container, unplugged', async (t) => {
    const backing = path.join(dir, 'adapter.img')
    writeFileSync(backing, 'modbus-frame-42\n')
    truncateSync(backing, 4096)
    let loop: string | null = null
    const unplug = async (): Promise<void> => {
      rmSync(device, { force: true })
      const attached = loop
      loop = null
      if (attached) await execFileAsync('losetup', ['-d', attached], { timeout: 20_000 })
    }
    t.teardown(unplug)
    loop = (await execFileAsync('losetup', ['-f', '--show', backing], { timeout: 20_000 })).stdout.trim()
    t.match(loop, /^\/dev\/loop\d+$/)
    symlinkSync(loop, device)

    await hub.waitForStatus(strict, (s) => (s.devices ?? []).includes(device), { what: 'the device in the status' })
    const running = await waitForRunning(strict, ['serial'])
    const id = running.get('serial')?.id ?? ''
    const inspect = await dockerClient().getContainer(id).inspect()
    t.notOk(inspect.HostConfig.Privileged, 'not privileged')
    t.match(inspect.HostConfig.Devices, [{ PathOnHost: device, PathInContainer: '/dev/ttyUSB0', CgroupPermissions: 'rwm' }])
    await waitFor(async () => (await containerLogs(id)).includes('modbus-frame-42'), {
      what: 'the container to read what the test wrote into the device',
      timeoutMs: 30_000,
      intervalMs: 250,
    })
    t.pass('the container read from the device')

    await unplug()
    t.notOk(existsSync(device), 'unplugged')
    const gone = await hub.waitForStatus(strict, (s) => !(s.devices ?? []).includes(device) && /missing/.test(workloadOf(s, 'serial')?.message ?? ''), {
      what: 'the copy to say its device is missing',
    })
    t.equal(workloadOf(gone, 'serial')?.message, `device ${device} missing`)
  })

  await t.test('user, read-only root, tmpfs and a read-only /etc/localtime as the container sees them; the default log bound', async (t) => {
    const locked = sleeper('locked', {
      command: ['sh', '-c', 'id -u; touch /x 2>/dev/null || echo root-is-read-only; echo ok > /scratch/f && cat /scratch/f; sleep 3600'],
      securityContext: { user: '1000:1000', readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      tmpfs: [{ path: '/scratch', size: '1Mi' }],
      volumes: [{ hostPath: '/etc/localtime', path: '/etc/localtime', readOnly: true }],
    })
    await hub.publishDesired(wide, [locked], 2)
    const running = await waitForRunning(wide, ['locked'])
    const id = running.get('locked')?.id ?? ''
    const logs = await waitFor(
      async () => {
        const text = await containerLogs(id)
        return text.includes('ok') ? text : undefined
      },
      { what: 'the container to report', timeoutMs: 30_000 },
    )
    t.match(logs, /^1000$/m, 'runs as uid 1000')
    t.match(logs, /root-is-read-only/)
    const inspect = await dockerClient().getContainer(id).inspect()
    t.same(inspect.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': String(10 * 1024 * 1024), 'max-file': '3' } }, 'the default log bound')
    t.same(inspect.HostConfig.CapDrop, ['ALL'])
    t.match(inspect.Mounts, [{ Type: 'bind', Source: '/etc/localtime', Destination: '/etc/localtime', RW: false }])
  })

  await t.test('a container writing 50 MB of log leaves no more than its cap on disk', async (t) => {
    const chatty = sleeper('chatty', {
      command: ['sh', '-c', 'yes 0123456789012345678901234567890123456789 | head -c 52428800; echo done-writing; sleep 3600'],
      logs: { maxSize: '1Mi', maxFiles: 2 },
    })
    await hub.publishDesired(wide, [chatty], 3)
    const running = await waitForRunning(wide, ['chatty'])
    const id = running.get('chatty')?.id ?? ''
    await waitFor(async () => (await containerLogs(id)).includes('done-writing'), { what: '50 MB written', timeoutMs: 180_000, intervalMs: 1_000 })
    const logPath = (await dockerClient().getContainer(id).inspect()).LogPath
    const files = readdirSync(path.dirname(logPath)).filter((name) => name.startsWith(path.basename(logPath)))
    const bytes = files.reduce((sum, name) => sum + statSync(path.join(path.dirname(logPath), name)).size, 0)
    t.comment(`log files ${files.join(', ')}: ${bytes} bytes`)
    t.ok(files.length <= 2, `at most 2 files (${files.length})`)
    t.ok(bytes <= 2 * 1024 * 1024 + 64 * 1024, `at most 2 MiB on disk (${bytes} bytes)`)
  })
})
