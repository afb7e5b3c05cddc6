import { Command, Option, type Command as CommandType } from 'commander'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { OUTPUT_FORMATS } from '../output.js'

/**
 * What each word after a verb completes to, by position (options not counted): fixed words, or
 * names asked from the hub at completion time (`shoal get KIND -o name`). Verbs with
 * subcommands complete those from the command tree itself.
 */
type Completer = { readonly words: readonly string[] } | { readonly names: 'nodes' | 'deployments' | 'contexts' | 'previous' } | { readonly files: true }

const POSITIONAL: Readonly<Record<string, readonly Completer[]>> = {
  get: [{ words: ['nodes', 'deployments', 'events', 'configs', 'secrets', 'alerts'] }],
  describe: [{ words: ['node', 'deployment', 'config', 'secret'] }, { names: 'previous' }],
  delete: [{ words: ['deployment', 'config', 'secret'] }, { names: 'previous' }],
  label: [{ words: ['node'] }, { names: 'nodes' }],
  cordon: [{ names: 'nodes' }],
  uncordon: [{ names: 'nodes' }],
  drain: [{ names: 'nodes' }],
  top: [{ words: ['nodes'] }],
  completion: [{ words: ['bash', 'zsh'] }],
  validate: [{ files: true }],
  logs: [{ names: 'deployments' }],
}
const ROLLOUT_VERBS = ['status', 'history', 'undo', 'pause', 'resume', 'promote', 'restart'] as const
const SUBCOMMAND_ARGS: Readonly<Record<string, readonly Completer[]>> = {
  'context use': [{ names: 'contexts' }],
  ...Object.fromEntries(ROLLOUT_VERBS.map((verb) => [`rollout ${verb}`, [{ names: 'deployments' }]])),
}

/** Options whose value completes to something known. */
const OPTION_VALUES: Readonly<Record<string, Completer>> = {
  '-o': { words: OUTPUT_FORMATS },
  '--output': { words: OUTPUT_FORMATS },
  '-f': { files: true },
  '--filename': { files: true },
  '--from-file': { files: true },
  '--token-file': { files: true },
  '--context': { names: 'contexts' },
  '--node': { names: 'nodes' },
  '--sort-by': { words: ['name', 'cpu', 'memory', 'disk'] },
}

interface VerbInfo {
  readonly name: string
  readonly description: string
  readonly subcommands: readonly string[]
  readonly options: readonly string[]
}

function visible(command: CommandType): CommandType[] {
  return command.commands.filter((c) => c.name() !== 'help')
}

function optionFlags(command: CommandType): string[] {
  const flags = command.options.flatMap((o: Option) => [o.short, o.long].filter((f): f is string => typeof f === 'string'))
  return [...flags, '--help']
}

/** Every option in the tree that takes a value: the completers skip its value when counting positions. */
function valueOptions(root: CommandType): string[] {
  const found = new Set<string>()
  const walk = (command: CommandType): void => {
    for (const option of command.options) if (option.required || option.optional) for (const flag of [option.short, option.long]) if (flag) found.add(flag)
    for (const sub of command.commands) walk(sub)
  }
  walk(root)
  return [...found].sort()
}

export function verbsOf(root: CommandType): VerbInfo[] {
  return visible(root)
    .map((c) => ({
      name: c.name(),
      description: c.description().split('\n')[0] ?? '',
      subcommands: visible(c).map((s) => s.name()),
      options: c.commands.length > 0 ? ['--help'] : optionFlags(c),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
}

function subOptions(root: CommandType): { key: string; options: string[] }[] {
  return visible(root).flatMap((verb) => visible(verb).map((sub) => ({ key: `${verb.name()} ${sub.name()}`, options: optionFlags(sub) })))
}

const NAME_COMMAND: Readonly<Record<'nodes' | 'deployments' | 'contexts', string>> = {
  nodes: 'shoal get nodes -o name 2>/dev/null',
  deployments: 'shoal get deployments -o name 2>/dev/null',
  contexts: 'shoal context list -o name 2>/dev/null',
}

function bashCompleter(completer: Completer): string {
  if ('words' in completer) return `COMPREPLY=( $(compgen -W "${completer.words.join(' ')}" -- "$cur") )`
  if ('files' in completer) return 'COMPREPLY=( $(compgen -f -- "$cur") )'
  if (completer.names === 'previous') return 'COMPREPLY=( $(compgen -W "$(shoal get "${args[0]}" -o name 2>/dev/null)" -- "$cur") )'
  return `COMPREPLY=( $(compgen -W "$(${NAME_COMMAND[completer.names]})" -- "$cur") )`
}

function zshCompleter(completer: Completer): string {
  if ('words' in completer) return `compadd -- ${completer.words.join(' ')}`
  if ('files' in completer) return '_files'
  if (completer.names === 'previous') return 'compadd -- ${(f)"$(shoal get ${args[1]} -o name 2>/dev/null)"}'
  return `compadd -- \${(f)"$(${NAME_COMMAND[completer.names]})"}`
}

export function bashScript(root: CommandType): string {
  const verbs = verbsOf(root)
  const verbCases = verbs
    .map((verb) => {
      const lines: string[] = []
      if (verb.subcommands.length > 0) {
        lines.push(`      if (( \${#args[@]} == 0 )); then COMPREPLY=( $(compgen -W "${verb.subcommands.join(' ')}" -- "$cur") ); return; fi`)
        for (const { key, options } of subOptions(root).filter((s) => s.key.startsWith(`${verb.name} `))) {
          const sub = key.slice(verb.name.length + 1)
          lines.push(`      if [[ \${args[0]} == ${sub} ]]; then`)
          lines.push(`        if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "${options.join(' ')}" -- "$cur") ); return; fi`)
          ;(SUBCOMMAND_ARGS[key] ?? []).forEach((completer, i) =>
            lines.push(`        if (( \${#args[@]} == ${i + 1} )); then ${bashCompleter(completer)}; return; fi`),
          )
          lines.push('      fi')
        }
      } else {
        lines.push(`      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "${verb.options.join(' ')}" -- "$cur") ); return; fi`)
        ;(POSITIONAL[verb.name] ?? []).forEach((completer, i) =>
          lines.push(`      if (( \${#args[@]} == ${i} )); then ${bashCompleter(completer)}; return; fi`),
        )
      }
      return `    ${verb.name})\n${lines.join('\n')}\n      ;;`
    })
    .join('\n')
  const valueCases = Object.entries(OPTION_VALUES)
    .map(([flag, completer]) => `    ${flag}) ${bashCompleter(completer)}; return ;;`)
    .join('\n')
  return `# bash completion for shoal. Load it with:
#   source <(shoal completion bash)
# or install it: shoal completion bash > /etc/bash_completion.d/shoal
_shoal() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=( $(compgen -W "${verbs.map((v) => v.name).join(' ')} --help --version" -- "$cur") )
    return
  fi
  case "$prev" in
${valueCases}
  esac
  # The words between the verb and the cursor that are not options or option values.
  local value_options=" ${valueOptions(root).join(' ')} " args=() i word skip=0
  for (( i = 2; i < COMP_CWORD; i++ )); do
    word="\${COMP_WORDS[i]}"
    if (( skip )); then skip=0; continue; fi
    if [[ $word == -* ]]; then [[ $value_options == *" $word "* ]] && skip=1; continue; fi
    args+=("$word")
  done
  case "\${COMP_WORDS[1]}" in
${verbCases}
  esac
}
complete -o default -F _shoal shoal
`
}

export function zshScript(root: CommandType): string {
  const verbs = verbsOf(root)
  const describe = verbs.map((v) => `    '${v.name}:${v.description.replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`).join('\n')
  const verbCases = verbs
    .map((verb) => {
      const lines: string[] = []
      if (verb.subcommands.length > 0) {
        lines.push(`      if (( \${#args} == 0 )); then compadd -- ${verb.subcommands.join(' ')}; return; fi`)
        for (const { key, options } of subOptions(root).filter((s) => s.key.startsWith(`${verb.name} `))) {
          const sub = key.slice(verb.name.length + 1)
          lines.push(`      if [[ \${args[1]} == ${sub} ]]; then`)
          lines.push(`        if [[ $PREFIX == -* ]]; then compadd -- ${options.join(' ')}; return; fi`)
          ;(SUBCOMMAND_ARGS[key] ?? []).forEach((completer, i) =>
            lines.push(`        if (( \${#args} == ${i + 1} )); then ${zshCompleter(completer)}; return; fi`),
          )
          lines.push('      fi')
        }
      } else {
        lines.push(`      if [[ $PREFIX == -* ]]; then compadd -- ${verb.options.join(' ')}; return; fi`)
        ;(POSITIONAL[verb.name] ?? []).forEach((completer, i) => lines.push(`      if (( \${#args} == ${i} )); then ${zshCompleter(completer)}; return; fi`))
      }
      return `    ${verb.name})\n${lines.join('\n')}\n      ;;`
    })
    .join('\n')
  const valueCases = Object.entries(OPTION_VALUES)
    .map(([flag, completer]) => `    ${flag}) ${zshCompleter(completer)}; return ;;`)
    .join('\n')
  return `#compdef shoal
# zsh completion for shoal. Load it with:
#   source <(shoal completion zsh)
# or install it as _shoal in a directory on $fpath.
_shoal() {
  local -a verbs args
  verbs=(
${describe}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'shoal command' verbs
    return
  fi
  case "\${words[CURRENT-1]}" in
${valueCases}
  esac
  local value_options=" ${valueOptions(root).join(' ')} " i word skip=0
  for (( i = 3; i < CURRENT; i++ )); do
    word="\${words[i]}"
    if (( skip )); then skip=0; continue; fi
    if [[ $word == -* ]]; then [[ $value_options == *" $word "* ]] && skip=1; continue; fi
    args+=("$word")
  done
  case "\${words[2]}" in
${verbCases}
  esac
}
if [ "$funcstack[1]" = "_shoal" ]; then
  _shoal "$@"
else
  compdef _shoal shoal
fi
`
}

/** `shoal completion bash|zsh`: a completion script generated from the command tree. */
export function completionCommand(io: CliIo): Command {
  return new Command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('<shell>', 'bash or zsh')
    .addHelpText(
      'after',
      `
Node, deployment, config, secret and context names complete from the current context (shoal get ... -o name).

Examples:
  $ source <(shoal completion bash)                     # this shell
  $ shoal completion bash > /etc/bash_completion.d/shoal
  $ shoal completion zsh > "\${fpath[1]}/_shoal"        # zsh, then restart it`,
    )
    .action((shell: string, _options: unknown, command: CommandType) => {
      let root = command
      while (root.parent) root = root.parent
      if (shell === 'bash') io.out(bashScript(root))
      else if (shell === 'zsh') io.out(zshScript(root))
      else throw new CliError(`no completion for ${JSON.stringify(shell)}; use bash or zsh`, ExitCode.usage)
    })
}
