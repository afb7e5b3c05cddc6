import { Help } from 'commander'
import t from 'tap'
import { COMMANDS, commandNamed } from '../../cli/command-index.js'
import { buildFullProgram, buildProgram, runCli } from '../../cli/program.js'

const quiet = { out: () => undefined, err: () => undefined }

t.test('each light description says what the command its module builds says', async (t) => {
  const help = new Help()
  for (const entry of COMMANDS) {
    const command = await entry.load(quiet)
    t.equal(command.name(), entry.name, `${entry.name}: name`)
    t.equal(command.description(), entry.description, `${entry.name}: description`)
    t.equal(help.subcommandTerm(command), entry.term, `${entry.name}: term in shoal --help`)
    t.same(command.aliases(), [], `${entry.name}: no alias the index would miss`)
  }
})

t.test('shoal --help from the light descriptions reads exactly as with every command loaded', async (t) => {
  const light = buildProgram(quiet)
  const full = await buildFullProgram(quiet)
  t.equal(light.helpInformation(), full.helpInformation())
  t.same(
    light.commands.map((c) => c.name()),
    full.commands.map((c) => c.name()),
  )
})

t.test('the command an argument list runs', async (t) => {
  t.equal(commandNamed(['get', 'nodes', '-o', 'wide'])?.name, 'get')
  t.equal(commandNamed(['--help'])?.name, undefined)
  t.equal(commandNamed([])?.name, undefined)
  t.equal(commandNamed(['-V'])?.name, undefined)
  t.equal(commandNamed(['help', 'apply'])?.name, 'apply', 'shoal help X is X')
  t.equal(commandNamed(['help'])?.name, undefined)
  t.equal(commandNamed(['agent', 'run', '--hub', 'mqtt://h'])?.name, 'agent')
  t.equal(commandNamed(['pods'])?.name, undefined, 'an unknown command loads nothing')
})

t.test('a command runs with only its own module loaded, and help for one names its options', async (t) => {
  const out: string[] = []
  const io = { out: (text: string) => void out.push(text), err: () => undefined }
  t.equal(await runCli(['help', 'get'], io), 0)
  t.match(out.join(''), /--selector <selector>/)
  out.length = 0
  t.equal(await runCli(['completion', 'bash'], io), 0)
  t.match(out.join(''), /rollout/, 'the completion script is built from the whole tree')
  t.match(out.join(''), /--selector/, "with every command's options")
})

t.test('an unknown command is a usage error that suggests the nearest one', async (t) => {
  const err: string[] = []
  t.equal(await runCli(['gt'], { out: () => undefined, err: (text) => void err.push(text) }), 2)
  t.match(err.join(''), /Did you mean get\?/)
})
