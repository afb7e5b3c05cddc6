import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { convertCommand } from '../../cli/commands/convert.js'
import { validateSources } from '../../cli/commands/validate.js'
import { type ConvertOptions, type ConvertResult, convertCompose } from '../../cli/compose/convert.js'
import { formatNote } from '../../cli/compose/notes.js'
import { renderManifests } from '../../cli/compose/render.js'
import { splitShellWords } from '../../cli/compose/shell-words.js'
import { ComposeReadError } from '../../cli/compose/source.js'
import { composeBytes, composeDuration, shoalBytes } from '../../cli/compose/units.js'
import { CliError, ExitCode, type CliIo } from '../../cli/io.js'
import { runCli } from '../../cli/program.js'
import type { DeploymentInput } from '../../protocol/index.js'
import { prng } from '../support/prng.js'
import { tempDir } from '../support/tmp.js'

const FILE = 'compose.yml'
const OPTIONS: ConvertOptions = { baseDir: '/srv/plant', homeDir: '/home/op', variables: {} }

interface Converted {
  readonly result: ConvertResult
  readonly yaml: string
  /** The Deployments by name, as printed (no defaults filled in). */
  readonly byName: Record<string, DeploymentInput>
  /** The notes as stderr shows them. */
  readonly notes: string[]
}

/** Converts, and checks the printed YAML with the function shoal validate runs: every test's output must pass it. */
function convert(t: Test, text: string, options: ConvertOptions = OPTIONS): Converted {
  const result = convertCompose(text, FILE, options)
  const yaml = renderManifests(result, FILE)
  if (result.deployments.length > 0) {
    const report = validateSources([{ file: 'converted.yaml', text: yaml }])
    t.same(report.errors, [], 'the output passes shoal validate')
    t.equal(report.files[0]?.manifests.length, result.deployments.length, 'one manifest per converted service')
  }
  const byName = Object.fromEntries(result.deployments.map(({ manifest }) => [manifest.metadata.name, manifest]))
  const notes = result.notes.map((note) => formatNote(note, FILE))
  return { result, yaml, byName, notes }
}

const template = (converted: Converted, name: string) => {
  const found = converted.byName[name]?.spec.template
  if (found && 'containers' in found) throw new TypeError(`${name}: a one-container template was expected`)
  return found
}

/** The compose text with its first-line indentation removed, so tests can indent it. */
function compose(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n')
  const indent = /^ */.exec(lines[0] ?? '')?.[0].length ?? 0
  return lines.map((line) => line.slice(indent)).join('\n')
}

const STACK = compose(`
  name: line-7
  services:
    modbus:
      image: registry.local/modbus-gw:1.4
      command: ["--port", "/dev/ttyUSB0", "--baud", "9600"]
      devices:
        - /dev/ttyUSB0:/dev/ttyUSB0:rwm
      volumes:
        - /etc/localtime:/etc/localtime:ro
        - ./gw.conf:/etc/gw/gw.conf:ro
      environment:
        MQTT_URL: mqtt://127.0.0.1:1883
        POLL_MS: 250
      depends_on: [broker]
      restart: unless-stopped
      logging:
        driver: json-file
        options: { max-size: 5m, max-file: "2" }
    broker:
      image: eclipse-mosquitto:2
      network_mode: host
      volumes:
        - broker-data:/mosquitto/data
      healthcheck:
        test: ["CMD-SHELL", "mosquitto_sub -t '$$SYS/#' -C 1 -W 3"]
        interval: 15s
        timeout: 5s
        retries: 5
        start_period: 20s
      stop_grace_period: 30s
    historian:
      image: influxdb:2.7
      ports:
        - "8086:8086"
      volumes:
        - historian:/var/lib/influxdb2
      deploy:
        resources:
          limits: { cpus: "0.5", memory: 512M }
      restart: always
    dashboard:
      image: grafana/grafana:11
      ports: ["127.0.0.1:3000:3000"]
      user: "472"
      depends_on:
        historian: { condition: service_healthy }
  volumes:
    broker-data:
    historian:
`)

t.test('a four-service stack with a serial device, bind mounts and a health check', async (t) => {
  const converted = convert(t, STACK)
  t.same(Object.keys(converted.byName), ['modbus', 'broker', 'historian', 'dashboard'], 'one Deployment per service, in file order')
  t.same(converted.byName.modbus, {
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: 'modbus' },
    spec: {
      replicas: 1,
      template: {
        image: 'registry.local/modbus-gw:1.4',
        args: ['--port', '/dev/ttyUSB0', '--baud', '9600'],
        env: { MQTT_URL: 'mqtt://127.0.0.1:1883', POLL_MS: '250' },
        volumes: [
          { hostPath: '/etc/localtime', path: '/etc/localtime', readOnly: true },
          { hostPath: '/srv/plant/gw.conf', path: '/etc/gw/gw.conf', readOnly: true },
        ],
        devices: [{ path: '/dev/ttyUSB0' }],
        restartPolicy: 'always',
        logs: { maxSize: '5M', maxFiles: 2 },
      },
    },
  })
  t.same(template(converted, 'broker'), {
    image: 'eclipse-mosquitto:2',
    network: 'host',
    volumes: [{ name: 'broker-data', path: '/mosquitto/data' }],
    healthCheck: {
      exec: { command: ['/bin/sh', '-c', "mosquitto_sub -t '$SYS/#' -C 1 -W 3"] },
      interval: '15s',
      timeout: '5s',
      startPeriod: '20s',
      retries: 5,
    },
    stopGracePeriod: '30s',
  })
  t.same(template(converted, 'historian'), {
    image: 'influxdb:2.7',
    network: 'bridge',
    ports: [{ containerPort: 8086, hostPort: 8086 }],
    volumes: [{ name: 'historian', path: '/var/lib/influxdb2' }],
    resources: { cpu: 0.5, memory: '512Mi' },
    restartPolicy: 'always',
  })
  t.same(template(converted, 'dashboard'), {
    image: 'grafana/grafana:11',
    network: 'bridge',
    ports: [{ containerPort: 3000, hostPort: 3000, hostIP: '127.0.0.1' }],
    securityContext: { user: '472' },
  })
  t.same(converted.notes, [
    "compose.yml:2: services: note: 1 service without ports or network_mode uses Shoal's default, the host's network: compose's project network, where services find each other by name, has no Shoal equivalent",
    'compose.yml:3: services.modbus: note: a node with the default policy refuses it (host path /srv/plant/gw.conf not allowed); its operator can allow more (docs/agent.md)',
    'compose.yml:10: services.modbus.volumes[1]: note: host path ./gw.conf resolved to /srv/plant/gw.conf',
    'compose.yml:14: services.modbus.depends_on: not mapped (Shoal starts deployments independently and in no order; this one does not wait for broker)',
    "compose.yml:15: services.modbus.restart: note: unless-stopped is Shoal's always (the agent runs it with Docker's unless-stopped)",
    "compose.yml:33: services.historian.ports: note: network: bridge, so that these ports are published (Shoal's default is the host's network; write network_mode: host for that)",
    "compose.yml:43: services.dashboard.ports: note: network: bridge, so that these ports are published (Shoal's default is the host's network; write network_mode: host for that)",
    'compose.yml:45: services.dashboard.depends_on: not mapped (Shoal starts deployments independently and in no order; this one does not wait for historian)',
  ])
  t.match(
    converted.yaml,
    /^# converted by shoal convert from services\.modbus \(compose\.yml:3\)\n# compose\.yml:3: services\.modbus: note: a node with the default policy refuses it/,
  )
  t.equal(converted.yaml.split('\n---\n').length, 4, 'four documents separated by ---')
})

t.test('ports: short and long forms, ranges, addresses and protocols', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        web:
          image: nginx
          ports:
            - 80
            - "8080:80"
            - "127.0.0.1:8443:443/tcp"
            - "127.0.0.1::9000"
            - "[::1]:5353:53/udp"
            - "::1:6000:6000"
            - "7000-7002:8000-8002"
            - "9100-9110:9100"
            - target: 514
              published: "1514"
              host_ip: 0.0.0.0
              protocol: udp
            - "3868:3868/sctp"
            - "1-99999"
            - "80-90:1-2"
            - { published: 1 }
            - [1, 2]
    `),
  )
  t.same(template(converted, 'web')?.ports, [
    { containerPort: 80 },
    { containerPort: 80, hostPort: 8080 },
    { containerPort: 443, hostPort: 8443, protocol: 'tcp', hostIP: '127.0.0.1' },
    { containerPort: 9000, hostIP: '127.0.0.1' },
    { containerPort: 53, hostPort: 5353, protocol: 'udp', hostIP: '::1' },
    { containerPort: 6000, hostPort: 6000, hostIP: '::1' },
    { containerPort: 8000, hostPort: 7000 },
    { containerPort: 8001, hostPort: 7001 },
    { containerPort: 8002, hostPort: 7002 },
    { containerPort: 9100, hostPort: 9100 },
    { containerPort: 514, hostPort: 1514, protocol: 'udp', hostIP: '0.0.0.0' },
  ])
  t.equal(template(converted, 'web')?.network, 'bridge')
  t.same(
    converted.notes.filter((note) => note.includes('ports[')),
    [
      'compose.yml:12: services.web.ports[7]: note: compose picks a free host port in 9100-9110; this publishes 9100',
      'compose.yml:17: services.web.ports[9]: not mapped (protocol sctp: Shoal publishes tcp and udp only)',
      'compose.yml:18: services.web.ports[10]: not mapped (cannot read "1-99999" as ports)',
      'compose.yml:19: services.web.ports[11]: not mapped (the host range and the container range of "80-90:1-2" differ in length)',
      'compose.yml:20: services.web.ports[12]: not mapped (needs target, the port inside the container)',
      'compose.yml:21: services.web.ports[13]: not mapped (must be a string such as "8080:80" or a mapping with target)',
    ],
  )
})

t.test('network_mode: host and none drop published ports, service: joins that service’s copy, bridge keeps them', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        a: { image: x, network_mode: host, ports: ["80:80"] }
        b: { image: x, network_mode: none, ports: ["80:80"] }
        c: { image: x, network_mode: bridge, ports: ["80:80"] }
        d: { image: x, network_mode: "service:a" }
        e: { image: x, network_mode: "container:abc" }
        f: { image: x, network_mode: overlay }
        g: { image: x, ports: "80" }
    `),
  )
  t.same(
    converted.byName.a?.spec.template,
    {
      network: 'host',
      containers: [
        { name: 'a', image: 'x' },
        { name: 'd', image: 'x' },
      ],
    },
    'd runs as a container of a’s copy',
  )
  t.notOk(converted.byName.d, 'and is no deployment of its own')
  t.same(template(converted, 'b'), { image: 'x', network: 'none' })
  t.same(template(converted, 'c'), { image: 'x', network: 'bridge', ports: [{ containerPort: 80, hostPort: 80 }] })
  t.same(template(converted, 'g'), { image: 'x' })
  t.same(converted.notes, [
    "compose.yml:1: services: note: 3 services without ports or network_mode use Shoal's default, the host's network: compose's project network, where services find each other by name, has no Shoal equivalent",
    'compose.yml:2: services.a.ports: not mapped (published ports mean nothing with network_mode: host)',
    'compose.yml:3: services.b.ports: not mapped (published ports mean nothing with network_mode: none)',
    "compose.yml:5: services.d.network_mode: note: service:a: runs as container d of a's copy (one network namespace); its replicas, placement and labels are a's",
    'compose.yml:6: services.e.network_mode: not mapped (container:abc: a container Shoal does not run; write network_mode: service:NAME to run it beside a service of this file)',
    'compose.yml:7: services.f.network_mode: not mapped ("overlay": Shoal has host, bridge and none)',
    'compose.yml:8: services.g.ports: not mapped (must be a list)',
  ])
})

t.test('command and entrypoint: lists as they are, strings split like a shell for simple cases', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        a:
          image: x
          entrypoint: /usr/bin/app --config "/etc/my app.conf"
          command: ['serve', '--port', 8080]
        b:
          image: x
          command: sh -c 'echo "$$HOME" && sleep 1' --flag=a\\ b
        c:
          image: x
          command: run | tee /tmp/log
        d:
          image: x
          command: 'echo "unclosed'
        e:
          image: x
          entrypoint: [/bin/tini, --]
          command: { not: a list }
    `),
  )
  t.same(template(converted, 'a'), { image: 'x', command: ['/usr/bin/app', '--config', '/etc/my app.conf'], args: ['serve', '--port', '8080'] })
  t.same(template(converted, 'b')?.args, ['sh', '-c', 'echo "$HOME" && sleep 1', '--flag=a b'], 'quoted shell syntax is one word and noted nowhere')
  t.same(template(converted, 'c')?.args, ['run', '|', 'tee', '/tmp/log'])
  t.same(template(converted, 'd'), { image: 'x' })
  t.same(template(converted, 'e'), { image: 'x', command: ['/bin/tini', '--'] })
  t.same(converted.notes.slice(1), [
    'compose.yml:11: services.c.command: note: split into words without a shell, as docker compose does: | stay plain words (write ["sh", "-c", "..."] if a shell was meant)',
    'compose.yml:14: services.d.command: not mapped (cannot split it into words: a double quote is not closed)',
    'compose.yml:18: services.e.command: not mapped (must be a string or a list of strings)',
  ])
})

t.test('splitShellWords', async (t) => {
  t.same(splitShellWords(`a  'b c' "d \\"e\\" \\n" f\\ g ''`), { words: ['a', 'b c', 'd "e" \\n', 'f g', ''], shellSyntax: [] })
  t.same(splitShellWords('a && b > c; d $X `e` *.log'), {
    words: ['a', '&&', 'b', '>', 'c;', 'd', '$X', '`e`', '*.log'],
    shellSyntax: ['&', ';', 'redirection', 'command substitution', '$VARIABLE', 'glob'],
  })
  t.same(splitShellWords("it's"), { error: 'a single quote is not closed' })
  t.same(splitShellWords('   '), { words: [], shellSyntax: [] })
})

t.test('environment: list and map forms, values from the shell, env_file listed', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        list:
          image: x
          environment:
            - A=1
            - B=x=y
            - EMPTY=
            - FROM_SHELL
            - MISSING
            - 1BAD=no
          env_file: [.env, common.env]
        map:
          image: x
          environment:
            PORT: 8080
            ON: true
            NOTHING:
            NESTED: { a: 1 }
    `),
    { ...OPTIONS, variables: { FROM_SHELL: 'hello' } },
  )
  t.same(template(converted, 'list')?.env, { A: '1', B: 'x=y', EMPTY: '', FROM_SHELL: 'hello' })
  t.same(template(converted, 'map')?.env, { PORT: '8080', ON: 'true' })
  t.same(converted.notes.slice(1), [
    'compose.yml:8: services.list.environment[3]: note: FROM_SHELL takes its value from the environment of shoal convert',
    'compose.yml:9: services.list.environment[4]: not mapped (MISSING takes its value from the shell running compose, and it is not set in this one)',
    'compose.yml:10: services.list.environment[5]: not mapped ("1BAD" is not an environment variable name Shoal takes ([A-Za-z_][A-Za-z0-9_]*))',
    'compose.yml:11: services.list.env_file: not mapped (env files are not read; put the variables under environment, or in a Config referenced from env)',
    'compose.yml:17: services.map.environment.NOTHING: not mapped (NOTHING takes its value from the shell running compose, and it is not set in this one)',
    'compose.yml:18: services.map.environment.NESTED: not mapped (must be a string)',
  ])
})

t.test('volumes: named, bind (relative, ~, read-only), anonymous, tmpfs, long form; options and drivers listed', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        app:
          image: x
          volumes:
            - data:/data
            - My_Volume:/other:rw
            - ./conf:/etc/app:ro
            - ../shared/:/shared
            - ~/keys:/keys:ro
            - ~bob/keys:/bob
            - /var/log:/host-log:ro,z
            - /cache
            - type: bind
              source: certs
              target: /certs
              read_only: true
            - type: volume
              source: data
              target: /data2
              volume: { nocopy: true }
            - type: tmpfs
              target: /scratch
              tmpfs: { size: 64m }
            - type: npipe
              source: x
              target: /y
            - data:relative
            - a:b:c:d
            - 42
      volumes:
        data:
          driver: local
          driver_opts: { type: nfs }
        My_Volume:
          external: true
    `),
  )
  t.same(template(converted, 'app')?.volumes, [
    { name: 'data', path: '/data' },
    { name: 'my-volume', path: '/other' },
    { hostPath: '/srv/plant/conf', path: '/etc/app', readOnly: true },
    { hostPath: '/srv/shared', path: '/shared' },
    { hostPath: '/home/op/keys', path: '/keys', readOnly: true },
    { hostPath: '/var/log', path: '/host-log', readOnly: true },
    { name: 'app-cache', path: '/cache' },
    { hostPath: '/srv/plant/certs', path: '/certs', readOnly: true },
    { name: 'data', path: '/data2' },
  ])
  t.same(template(converted, 'app')?.tmpfs, [{ path: '/scratch', size: '64Mi' }])
  t.same(converted.notes.slice(1), [
    'compose.yml:2: services.app: note: a node with the default policy refuses it (host path /srv/plant/conf not allowed; host path /srv/shared not allowed; host path /home/op/keys not allowed; host path /var/log not allowed; host path /srv/plant/certs not allowed); its operator can allow more (docs/agent.md)',
    'compose.yml:6: services.app.volumes[1]: note: volume My_Volume is named my-volume (a Shoal name)',
    'compose.yml:7: services.app.volumes[2]: note: host path ./conf resolved to /srv/plant/conf',
    'compose.yml:8: services.app.volumes[3]: note: host path ../shared/ resolved to /srv/shared',
    'compose.yml:9: services.app.volumes[4]: note: host path ~/keys resolved to /home/op/keys',
    "compose.yml:10: services.app.volumes[5]: not mapped (~bob/keys: another user's home directory; write the absolute path)",
    'compose.yml:11: services.app.volumes[6]: not mapped (mount option z: Shoal mounts read-only (ro) or read-write only)',
    'compose.yml:12: services.app.volumes[7]: note: an anonymous volume: mapped to the named volume app-cache, kept across container recreates',
    'compose.yml:13: services.app.volumes[8]: note: host path ./certs resolved to /srv/plant/certs',
    'compose.yml:20: services.app.volumes[9].volume.nocopy: not mapped (Shoal has no such mount option)',
    'compose.yml:24: services.app.volumes[11]: not mapped (type npipe: Shoal mounts named volumes, host paths and tmpfs)',
    'compose.yml:27: services.app.volumes[12]: not mapped (the target "relative" must be an absolute path in the container)',
    'compose.yml:28: services.app.volumes[13]: not mapped (cannot read "a:b:c:d" as source:target[:mode])',
    'compose.yml:29: services.app.volumes[14]: not mapped (the target "42" must be an absolute path in the container)',
    'compose.yml:32: volumes.data.driver: not mapped (the agent makes a plain local volume per node and name (shoal-NODE-NAME); drivers, options and existing volumes are not used)',
    'compose.yml:33: volumes.data.driver_opts: not mapped (the agent makes a plain local volume per node and name (shoal-NODE-NAME); drivers, options and existing volumes are not used)',
    'compose.yml:35: volumes.My_Volume.external: not mapped (the agent makes a plain local volume per node and name (shoal-NODE-NAME); drivers, options and existing volumes are not used)',
  ])
  const noHome = convert(t, 'services:\n  a: { image: x, volumes: ["~/k:/k"] }\n', { baseDir: OPTIONS.baseDir })
  t.same(noHome.notes[1], 'compose.yml:2: services.a.volumes[0]: not mapped (~/k: ~ needs a home directory; write the absolute path)')
})

t.test('devices, capabilities, privileged, user, read_only and tmpfs', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        gw:
          image: x
          devices:
            - /dev/ttyUSB0
            - /dev/ttyACM0:/dev/modem
            - /dev/i2c-1:/dev/i2c-1:rw
            - /dev/video0:r
            - source: /dev/gpiochip0
              target: /dev/gpiochip0
              permissions: rw
            - nvidia.com/gpu=all
            - /etc/passwd:/dev/x
          cap_add: [NET_ADMIN, CAP_SYS_TIME, "not a cap"]
          cap_drop: [ALL]
          privileged: true
          read_only: true
          user: "1000:1000"
          tmpfs:
            - /run
            - /tmp:size=64m,mode=1777
            - relative
        named-user:
          image: x
          user: node
          privileged: "yes"
          tmpfs: /run:size=1g
          devices: /dev/ttyUSB0
    `),
  )
  t.same(template(converted, 'gw'), {
    image: 'x',
    devices: [
      { path: '/dev/ttyUSB0' },
      { path: '/dev/ttyACM0', containerPath: '/dev/modem' },
      { path: '/dev/i2c-1', permissions: 'rw' },
      { path: '/dev/video0', permissions: 'r' },
      { path: '/dev/gpiochip0', permissions: 'rw' },
    ],
    tmpfs: [{ path: '/run' }, { path: '/tmp', size: '64Mi' }],
    securityContext: {
      capabilities: { add: ['NET_ADMIN', 'CAP_SYS_TIME'], drop: ['ALL'] },
      privileged: true,
      readOnlyRootFilesystem: true,
      user: '1000:1000',
    },
  })
  t.same(template(converted, 'named-user'), { image: 'x', tmpfs: [{ path: '/run', size: '1Gi' }] })
  t.same(converted.notes.slice(1), [
    'compose.yml:2: services.gw: note: a node with the default policy refuses it (privileged not allowed; capability NET_ADMIN not allowed; capability SYS_TIME not allowed); its operator can allow more (docs/agent.md)',
    'compose.yml:12: services.gw.devices[5]: not mapped (nvidia.com/gpu=all: a CDI device; Shoal passes device nodes under /dev/)',
    'compose.yml:13: services.gw.devices[6]: not mapped (/etc/passwd: must be a device path under /dev/)',
    'compose.yml:14: services.gw.cap_add[2]: not mapped ("not a cap" is not a Linux capability such as NET_ADMIN)',
    "compose.yml:21: services.gw.tmpfs[1]: not mapped (tmpfs option mode=1777: Shoal sets a tmpfs's size only)",
    'compose.yml:22: services.gw.tmpfs[2]: not mapped ("relative" must be an absolute path in the container)',
    'compose.yml:25: services.named-user.user: not mapped ("node": Shoal takes a numeric uid or uid:gid (a user name is looked up in the image, which Shoal does not read))',
    'compose.yml:26: services.named-user.privileged: not mapped (must be true or false)',
    'compose.yml:28: services.named-user.devices: not mapped (must be a list)',
  ])
})

t.test("healthcheck: CMD, CMD-SHELL, a string, NONE and disable; Docker's default timings kept", async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        cmd:
          image: x
          healthcheck: { test: [CMD, wget, -qO-, "http://127.0.0.1/health"] }
        string:
          image: x
          healthcheck:
            test: curl -f http://localhost || exit 1
            interval: 1m30s
            timeout: 1.5s
            start_period: 250us
            retries: 0
            start_interval: 1s
        none:
          image: x
          healthcheck: { test: [NONE] }
        off:
          image: x
          healthcheck: { disable: true }
        bad:
          image: x
          healthcheck: { test: [CMD-SHELL], interval: 10 }
        absent:
          image: x
          healthcheck: { interval: 10s }
    `),
  )
  t.same(template(converted, 'cmd')?.healthCheck, { exec: { command: ['wget', '-qO-', 'http://127.0.0.1/health'] }, interval: '30s', timeout: '30s' })
  t.same(template(converted, 'string')?.healthCheck, {
    exec: { command: ['/bin/sh', '-c', 'curl -f http://localhost || exit 1'] },
    interval: '1m30s',
    timeout: '1s500ms',
    startPeriod: '1ms',
    retries: 1,
  })
  for (const name of ['none', 'off', 'bad', 'absent']) t.equal(template(converted, name)?.healthCheck, undefined, `${name}: no healthCheck`)
  t.same(converted.notes.slice(1), [
    'compose.yml:11: services.string.healthcheck.start_period: note: rounded up to 1ms',
    "compose.yml:12: services.string.healthcheck.retries: note: 0 is outside Shoal's 1–100; 1 is used",
    'compose.yml:13: services.string.healthcheck.start_interval: not mapped (Shoal has no such health check setting)',
    "compose.yml:16: services.none.healthcheck.test: not mapped (Shoal cannot switch off the image's own HEALTHCHECK; no healthCheck is set)",
    "compose.yml:19: services.off.healthcheck.disable: not mapped (Shoal cannot switch off the image's own HEALTHCHECK; no healthCheck is set)",
    'compose.yml:22: services.bad.healthcheck.test: not mapped (must be a string, or a list starting with CMD or CMD-SHELL)',
    "compose.yml:25: services.absent.healthcheck.test: not mapped (no test: the image's HEALTHCHECK is used as it is)",
  ])
})

t.test('restart, deploy.restart_policy, logging, stop_grace_period and stop_signal', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        a: { image: x, restart: "no", stop_signal: SIGINT, stop_grace_period: 1m30s }
        b: { image: x, restart: no, stop_signal: QUIT, stop_grace_period: 1h }
        c: { image: x, restart: "on-failure:3", stop_signal: "9", stop_grace_period: soon }
        d: { image: x, restart: sometimes, stop_signal: "kill -9" }
        e: { image: x, deploy: { restart_policy: { condition: on-failure, max_attempts: 3 } } }
        f: { image: x, restart: always, deploy: { restart_policy: { condition: none } } }
        g: { image: x, logging: { driver: local, options: { max-size: 20k, max-file: 5, compress: "true" } } }
        h: { image: x, logging: { driver: syslog, options: { syslog-address: "udp://1.2.3.4:514" } } }
        i: { image: x, logging: { options: { max-size: big, max-file: 0 } } }
    `),
  )
  const field = (name: string) => {
    const { image: _image, ...rest } = template(converted, name) ?? { image: '' }
    return rest
  }
  t.same(field('a'), { restartPolicy: 'never', stopGracePeriod: '1m30s', stopSignal: 'SIGINT' })
  t.same(field('b'), { restartPolicy: 'never', stopGracePeriod: '10m', stopSignal: 'SIGQUIT' })
  t.same(field('c'), { restartPolicy: 'on-failure', stopSignal: '9' })
  t.same(field('d'), {})
  t.same(field('e'), { restartPolicy: 'on-failure' })
  t.same(field('f'), { restartPolicy: 'always' }, 'restart wins over deploy.restart_policy, as in compose')
  t.same(field('g'), { logs: { maxSize: '20k', maxFiles: 5 } })
  t.same(field('h'), {})
  t.same(field('i'), {})
  t.same(converted.notes.slice(1), [
    "compose.yml:3: services.b.stop_grace_period: not mapped (1h is over Shoal's limit; 10m is used)",
    'compose.yml:4: services.c.restart: not mapped (at most 3 retries: Shoal restarts on failure with a backoff and no retry limit)',
    'compose.yml:4: services.c.stop_grace_period: not mapped ("soon" is not a duration such as 30s)',
    'compose.yml:5: services.d.restart: not mapped ("sometimes": must be no, always, unless-stopped or on-failure[:N])',
    'compose.yml:5: services.d.stop_signal: not mapped ("kill -9" is not a signal such as SIGINT)',
    'compose.yml:6: services.e.deploy.restart_policy.max_attempts: not mapped (Shoal restarts with its own backoff (no delay, attempt limit or window))',
    'compose.yml:8: services.g.logging.options.compress: not mapped (Shoal sets the log size and file count only)',
    "compose.yml:9: services.h.logging.driver: not mapped (syslog: the agent keeps logs with Docker's json-file driver, bounded by logs.maxSize and logs.maxFiles)",
    'compose.yml:10: services.i.logging.options.max-size: not mapped ("big" is not a size such as 10m)',
    'compose.yml:10: services.i.logging.options.max-file: not mapped (must be a whole number from 1 to 100)',
  ])
})

t.test('deploy: replicas, global mode, limits, a GPU, placement; legacy mem_limit, cpus and scale; labels and platform', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        api:
          image: x
          platform: linux/arm64
          labels:
            com.example.team: edge
            description: Accounting webapp
            tier: backend
          deploy:
            replicas: 3
            labels: [site=plant-7]
            resources:
              limits: { cpus: 1.5, memory: 1g, pids: 100 }
              reservations:
                memory: 128M
                devices: [{ capabilities: [gpu], count: 1 }]
            placement:
              constraints:
                - node.labels.site == plant-7
                - node.labels.zone != dmz
                - node.platform.arch == aarch64
                - node.role == manager
              preferences: [{ spread: node.labels.zone }]
            update_config: { parallelism: 1 }
        exporter:
          image: x
          mem_limit: 64m
          cpus: "0.25"
          scale: 4
          deploy: { mode: global, replicas: 2, endpoint_mode: vip }
          platform: windows/amd64
        legacy:
          image: x
          mem_limit: 64m
          scale: 2
          deploy: { replicas: 5, resources: { limits: { memory: 32m } } }
    `),
  )
  t.same(converted.byName.api, {
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: 'api', labels: { 'com.example.team': 'edge', tier: 'backend', site: 'plant-7' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { site: 'plant-7' }, matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['dmz'] }] },
      requires: { arch: ['arm64'] },
      template: { image: 'x', resources: { cpu: 1.5, memory: '1Gi', gpu: 1 } },
    },
  })
  t.same(converted.byName.exporter?.spec, { mode: 'every-node', template: { image: 'x', resources: { memory: '64Mi', cpu: 0.25 } } })
  t.same(converted.byName.legacy?.spec, { replicas: 5, template: { image: 'x', resources: { memory: '32Mi' } } })
  t.same(converted.notes.slice(1), [
    'compose.yml:7: services.api.labels.description: not mapped ("Accounting webapp" is not a Shoal label value (at most 63 letters, digits, "-", "_" or "."))',
    'compose.yml:13: services.api.deploy.resources.limits.pids: not mapped (Shoal limits cpu and memory only)',
    "compose.yml:15: services.api.deploy.resources.reservations.memory: not mapped (Shoal's resources are limits that the scheduler also reserves; set deploy.resources.limits)",
    'compose.yml:22: services.api.deploy.placement.constraints[3]: not mapped (node.role == manager: only node.labels.KEY == VALUE, != VALUE and node.platform.arch == ARCH map (to the selector and requires.arch))',
    'compose.yml:23: services.api.deploy.placement.preferences: not mapped (Shoal spreads copies with spec.spread and places them with a selector)',
    'compose.yml:24: services.api.deploy.update_config: not mapped (Shoal rolls out with spec.strategy (see docs/rollouts.md))',
    'compose.yml:30: services.exporter.deploy.replicas: not mapped (a global service runs one copy on each node)',
    'compose.yml:30: services.exporter.deploy.endpoint_mode: not mapped (Shoal has no equivalent)',
    'compose.yml:31: services.exporter.platform: not mapped ("windows/amd64": not a linux platform Shoal knows (such as linux/arm64))',
  ])
})

t.test('names become Shoal names, unique; image-less services are left out with the reason; unknown keys are listed', async (t) => {
  const converted = convert(
    t,
    compose(`
      x-defaults: &defaults
        restart: always
      services:
        Web_Front:
          <<: *defaults
          image: x
          container_name: front
          working_dir: /app
          stdin_open: true
          x-note: ignored
        web-front:
          image: x
        builder:
          build: .
        nothing: {}
        scalar: just-a-string
        ___:
          image: x
    `),
  )
  t.same(Object.keys(converted.byName), ['web-front', 'web-front-2', 'service'])
  t.equal(template(converted, 'web-front')?.restartPolicy, 'always', '<< merge keys are followed')
  t.same(converted.notes, [
    "compose.yml:3: services: note: 3 services without ports or network_mode use Shoal's default, the host's network: compose's project network, where services find each other by name, has no Shoal equivalent",
    'compose.yml:4: services.Web_Front: note: named web-front (a Shoal name)',
    "compose.yml:7: services.Web_Front.container_name: not mapped (Shoal names each copy's container itself)",
    'compose.yml:8: services.Web_Front.working_dir: not mapped (the template has no working directory; set WORKDIR in the image)',
    'compose.yml:9: services.Web_Front.stdin_open: not mapped (Shoal has no equivalent)',
    'compose.yml:11: services.web-front: note: named web-front-2 (a Shoal name)',
    'compose.yml:14: services.builder.build: not mapped (Shoal runs images from a registry and does not build them; build and push the image, then set image:)',
    'compose.yml:15: services.nothing: not mapped (a service needs an image)',
    'compose.yml:16: services.scalar: not mapped (a service must be a mapping with image)',
    'compose.yml:17: services.___: note: named service (a Shoal name)',
  ])
  const both = convert(t, 'services:\n  app:\n    image: registry/app:1\n    build: ./app\n')
  t.same(both.notes[1], 'compose.yml:4: services.app.build: not mapped (Shoal does not build images; registry/app:1 is pulled as it is)')
})

t.test('the manifest schema has the last word: a field it refuses is dropped and listed, a service it refuses is left out', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        absurd:
          image: x
          healthcheck: { test: [CMD, "true"], interval: 1${'0'.repeat(30)}h }
        long:
          image: ${'x'.repeat(600)}
    `),
  )
  t.same(template(converted, 'absurd'), { image: 'x' })
  t.equal(converted.byName.long, undefined)
  t.same(converted.notes.slice(1), [
    'compose.yml:2: services.absurd: not mapped (template.healthCheck: must be a duration such as 500ms, 10s, 5m, 1h30m or 2d)',
    'compose.yml:5: services.long: not mapped (it does not make a valid Deployment (spec.template.image: Too big: expected string to have <=512 characters) and is left out)',
  ])
})

t.test('variables are interpolated as compose does: defaults, the environment, $$', async (t) => {
  const converted = convert(
    t,
    compose(`
      services:
        app:
          image: registry/app:\${TAG:-latest}
          environment:
            HOME_DIR: \${HOME}
            PRICE: $$5
            MODE: \${MODE-dev}/\${EMPTY:-fallback}/\${EMPTY-kept}
            ALT: \${SET:+on}\${UNSET:+off}
            PLAIN: $SET
            GONE: \${GONE}
            NEED: \${NEED:?set NEED first}
    `),
    { ...OPTIONS, variables: { HOME: '/root', SET: 'yes', EMPTY: '' } },
  )
  t.same(template(converted, 'app'), {
    image: 'registry/app:latest',
    env: { HOME_DIR: '/root', PRICE: '$5', MODE: 'dev/fallback/', ALT: 'on', PLAIN: 'yes', GONE: '', NEED: '' },
  })
  t.same(converted.notes.slice(1), [
    'compose.yml:10: services.app.environment.GONE: note: ${GONE}: GONE is not set; left empty, as docker compose does',
    'compose.yml:11: services.app.environment.NEED: not mapped (${NEED:?set NEED first}: NEED is required (set NEED first) but not set; left empty)',
  ])
})

t.test('a file that is not a compose file is refused with the reason and, where there is one, the line', async (t) => {
  const cases: [string, string][] = [
    ['services:\n  web:\n    image: [x\n', 'compose.yml:4: invalid YAML:'],
    ['services:\n  a: 1\n  a: 2\n', 'compose.yml:3: invalid YAML: Map keys must be unique'],
    ['', 'compose.yml: not a compose file: the top level must be a mapping with services'],
    ['- a\n- b\n', 'compose.yml: not a compose file: the top level must be a mapping with services'],
    ['version: "3"\n', 'compose.yml: not a compose file: it has no services'],
    ['services: [web]\n', 'compose.yml:1: not a compose file: services must be a mapping of service names to services'],
    [
      'apiVersion: shoal/v1\nkind: Deployment\nmetadata: { name: x }\n',
      'compose.yml:2: not a compose file: it is a manifest (apiVersion and kind); check it with shoal validate',
    ],
    ['services: {}\n---\nservices: {}\n', 'compose.yml: holds several YAML documents; a compose file is one'],
    ['a: &a [*a]\nservices: {}\n', 'compose.yml: invalid YAML:'],
  ]
  for (const [text, message] of cases) {
    t.throws(() => convertCompose(text, FILE, OPTIONS), ComposeReadError, JSON.stringify(text))
    try {
      convertCompose(text, FILE, OPTIONS)
    } catch (error) {
      t.ok((error as Error).message.startsWith(message), `${JSON.stringify(text)}: ${(error as Error).message}`)
    }
  }
})

t.test('top-level keys Shoal has no place for are listed; version, name and x- are not', async (t) => {
  const converted = convert(
    t,
    compose(`
      version: "3.9"
      name: plant
      x-anchors: {}
      networks: { backend: {} }
      secrets: { token: { file: ./token } }
      configs: { conf: { file: ./conf } }
      include: [other.yml]
      services:
        a: { image: x, networks: [backend], secrets: [token], configs: [conf], expose: ["80"], links: [b], extra_hosts: ["h:1.2.3.4"] }
    `),
  )
  t.same(converted.notes, [
    "compose.yml:4: networks: not mapped (Shoal has no user-defined networks: a copy uses the host's network, a bridge, or none)",
    'compose.yml:5: secrets: not mapped (make a Secret (shoal create secret NAME --from-file) and mount it with volumes: [{ secret: NAME, path }])',
    'compose.yml:6: configs: not mapped (make a Config (shoal create config NAME --from-file) and mount it with volumes: [{ config: NAME, path }])',
    'compose.yml:7: include: not mapped (included files are not read; convert each of them)',
    "compose.yml:8: services: note: 1 service without ports or network_mode uses Shoal's default, the host's network: compose's project network, where services find each other by name, has no Shoal equivalent",
    "compose.yml:9: services.a.networks: not mapped (Shoal has no user-defined networks: a copy uses the host's network, a bridge, or none)",
    'compose.yml:9: services.a.secrets: not mapped (compose secrets are files; make a Secret (shoal create secret NAME --from-file) and mount it with volumes: [{ secret: NAME, path }])',
    'compose.yml:9: services.a.configs: not mapped (compose configs are files; make a Config (shoal create config NAME --from-file) and mount it with volumes: [{ config: NAME, path }])',
    'compose.yml:9: services.a.expose: not mapped (expose only documents ports for other services; on the host network every port the service opens is reachable)',
    'compose.yml:9: services.a.links: not mapped (Shoal has no service names on a shared network; on the host network services reach each other at 127.0.0.1 on one node)',
    'compose.yml:9: services.a.extra_hosts: not mapped (the template has no extra /etc/hosts entries)',
  ])
})

t.test('units: Go durations and Docker sizes in Shoal spelling', async (t) => {
  t.same(composeDuration('1m30s'), { value: '1m30s' })
  t.same(composeDuration('1.5s'), { value: '1s500ms' })
  t.same(composeDuration('90s'), { value: '1m30s' })
  t.same(composeDuration('2h0m0s'), { value: '2h' })
  t.same(composeDuration('0'), { value: '0s' })
  t.same(composeDuration('1500000ns'), { value: '2ms', rounded: true })
  t.equal(composeDuration('10'), null)
  t.equal(composeDuration('1x'), null)
  t.equal(composeDuration(10), null)
  t.equal(composeBytes('512m', 1024), 512 * 1024 ** 2)
  t.equal(composeBytes('1gb', 1024), 1024 ** 3)
  t.equal(composeBytes('10m', 1000), 10_000_000)
  t.equal(composeBytes('1.5k', 1000), 1500)
  t.equal(composeBytes(4096, 1024), 4096)
  t.equal(composeBytes('lots', 1024), null)
  t.equal(composeBytes(-1, 1024), null)
  t.equal(shoalBytes(512 * 1024 ** 2, 1024), '512Mi')
  t.equal(shoalBytes(1500, 1000), 1500)
  t.equal(shoalBytes(1000, 1024), 1000)
  t.equal(shoalBytes(2_000_000, 1000), '2M')
})

t.test('seeded random services always convert to manifests that pass shoal validate', async (t) => {
  const random = prng(19_6)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const VALUES: Record<string, readonly unknown[]> = {
    image: ['nginx', 'registry.local:5000/a/b:1', '', 7, null],
    command: ['sleep 1d', ['a', 1], 'a "b', null, { a: 1 }, 'x | y'],
    entrypoint: ['/bin/sh -c', [], ['x']],
    environment: [['A=1', 'B', '=x'], { A: 1, 'B-C': 2, D: null }, 'A=1'],
    ports: [['80', '1-3:1-3', 'x:y', 70000, '0:0'], [{ target: 0 }, { target: 80, published: '81', protocol: 'udp' }], '80'],
    network_mode: ['host', 'bridge', 'none', 'service:a', 3],
    volumes: [
      ['a:/a', './b:/b:ro', '/c', 'd:e', '/:/', 'UPPER:/x'],
      [
        { type: 'tmpfs', target: '/t', tmpfs: { size: 'x' } },
        { type: 'bind', target: '/b' },
      ],
      'a:/a',
    ],
    devices: [['/dev/ttyUSB0', '/dev/:/dev/x', '/dev/a:/dev/b:xyz', 'x'], [{ source: '/dev/ttyS0', permissions: 'rr' }]],
    cap_add: [['NET_ADMIN', 'lower'], 'SYS_TIME', [null]],
    cap_drop: [['ALL']],
    privileged: [true, false, 'yes'],
    user: ['0', '1000:1000', 'root', 12],
    read_only: [true, 1],
    tmpfs: ['/run', ['/a:size=1x', '/b:size=0'], [{}]],
    healthcheck: [{ test: 'true' }, { test: ['CMD'] }, { test: ['CMD', 'x'], interval: '1.25s', retries: 1000 }, { disable: true }, 'x'],
    restart: ['no', 'always', 'on-failure:x', false, 1],
    logging: [{ options: { 'max-size': '0', 'max-file': 101 } }, { driver: 'none' }, { options: { 'max-size': '1e9' } }],
    stop_grace_period: ['11m', '0', '1us', 5],
    stop_signal: ['TERM', 'SIGUSR1', '99', '100', ''],
    deploy: [
      { replicas: -1 },
      { replicas: 20_000 },
      { mode: 'global' },
      { resources: { limits: { cpus: '-1', memory: '1x' } } },
      { placement: { constraints: ['node.labels.a==b', 'node.labels.A B==c'] } },
    ],
    labels: [{ 'a/b/c': 'x' }, ['x=' + 'y'.repeat(70)], { ok: 'fine' }],
    platform: ['linux/arm/v7', 'linux/riscv64', 'darwin'],
  }
  for (let round = 0; round < 40; round++) {
    const services: Record<string, Record<string, unknown>> = {}
    for (let index = 0; index < 5; index++) {
      const service: Record<string, unknown> = { image: 'busybox' }
      for (const [key, values] of Object.entries(VALUES)) if (random() < 0.4) service[key] = pick(values)
      services[pick(['a', 'B', 'c_d', 'e.f', '-']) + index] = service
    }
    const text = JSON.stringify({ services })
    const converted = convertCompose(text, FILE, OPTIONS)
    const yaml = renderManifests(converted, FILE)
    if (converted.deployments.length === 0) continue
    const report = validateSources([{ file: 'out.yaml', text: yaml }])
    if (report.errors.length > 0) {
      t.fail(`round ${round}: ${JSON.stringify(report.errors)}\n${text}`)
      return
    }
  }
  t.pass('every round validates')
})

interface Captured {
  readonly io: CliIo
  out: string
  err: string
}

function capture(): Captured {
  const captured: Captured = {
    io: { out: (text) => void (captured.out += text), err: (text) => void (captured.err += text) },
    out: '',
    err: '',
  }
  return captured
}

t.test('shoal convert -f FILE: manifests on stdout, notes and a summary on stderr, exit 0', async (t) => {
  const dir = tempDir(t, 'convert')
  const file = path.join(dir, 'docker-compose.yml')
  writeFileSync(file, STACK)
  const io = capture()
  const code = await runCli(['convert', '-f', file], io.io)
  t.equal(code, ExitCode.ok)
  t.same(validateSources([{ file: 'stdout', text: io.out }]).errors, [])
  t.match(io.out, `# converted by shoal convert from services.modbus (${file}:3)`)
  t.match(io.out, `hostPath: ${dir}/gw.conf`, "bind mounts resolve against the compose file's directory")
  t.match(io.err, `${file}:14: services.modbus.depends_on: not mapped (`)
  t.match(io.err, /converted 4 services to Deployments; 2 not mapped \(listed above\)\n$/)

  const broken = path.join(dir, 'broken.yml')
  writeFileSync(broken, 'services:\n  web:\n    image: [x\n')
  const bad = capture()
  t.equal(await runCli(['convert', '-f', broken], bad.io), ExitCode.failed)
  t.equal(bad.out, '')
  t.match(bad.err, `error: ${broken}:4: invalid YAML:`)

  const none = capture()
  t.equal(await runCli(['convert', '-f', path.join(dir, 'missing.yml')], none.io), ExitCode.failed)
  t.match(none.err, 'missing.yml: cannot read: no such file')

  const onlyBuild = path.join(dir, 'build.yml')
  writeFileSync(onlyBuild, 'services:\n  app:\n    build: .\n')
  const built = capture()
  t.equal(await runCli(['convert', '-f', onlyBuild], built.io), ExitCode.failed)
  t.equal(built.out, '')
  t.match(built.err, `${onlyBuild}:3: services.app.build: not mapped (`)
  t.match(built.err, `error: ${onlyBuild}: no service could be converted (see above)`)

  const usage = capture()
  t.equal(await runCli(['convert'], usage.io), ExitCode.usage, '-f is required')
  const two = capture()
  t.equal(await runCli(['convert', '-f', file, '-f', broken], two.io), ExitCode.usage)
  t.match(two.err, 'error: one compose file at a time: several -f are not merged')
  const dirAsFile = capture()
  t.equal(await runCli(['convert', '-f', dir], dirAsFile.io), ExitCode.failed)
  t.match(dirAsFile.err, 'is a directory')
})

t.test('shoal convert -f - reads standard input; relative paths start at the working directory', async (t) => {
  const io = capture()
  const command = convertCommand(io.io, {
    readStdin: async () => 'services:\n  app:\n    image: x\n    volumes: ["./data:/data"]\n    environment: [TOKEN]\n',
    variables: { TOKEN: 't0k3n' },
    cwd: () => '/work/here',
    homeDir: () => '/home/op',
  }).exitOverride()
  await command.parseAsync(['-f', '-'], { from: 'user' })
  t.match(io.out, 'hostPath: /work/here/data')
  t.match(io.out, 'TOKEN: t0k3n')
  t.match(io.err, '<stdin>:5: services.app.environment[0]: note: TOKEN takes its value from the environment of shoal convert')
  const empty = capture()
  const refused = convertCommand(empty.io, { readStdin: async () => '', variables: {}, cwd: () => '/', homeDir: () => '/' }).exitOverride()
  await t.rejects(
    refused.parseAsync(['-f', '-'], { from: 'user' }),
    new CliError('<stdin>: not a compose file: the top level must be a mapping with services', ExitCode.failed),
  )
})

t.test('shoal convert --help lists what it maps and says one file is read', async (t) => {
  const io = capture()
  t.equal(await runCli(['convert', '--help'], io.io), ExitCode.ok)
  const help = io.out.replace(/\s+/g, ' ')
  t.match(help, 'several are not merged')
  t.match(help, 'devices, cap_add')
  t.match(help, 'The output always passes shoal validate')
})
