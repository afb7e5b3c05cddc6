/**
 * Splits a command string into words the way docker compose does for `command:` and
 * `entrypoint:` (go-shellwords without environment expansion): whitespace separates words,
 * single quotes keep everything, double quotes keep everything but `\"`, `\\`, `\$` and `` \` ``,
 * and a backslash outside quotes escapes the next character. No shell runs the result, so shell
 * syntax (pipes, `&&`, redirections, `$VAR`, globs) stays plain text: `shellSyntax` says which.
 */
export type ShellWords = { readonly words: string[]; readonly shellSyntax: string[] } | { readonly error: string }

const SHELL_SYNTAX: readonly [RegExp, string][] = [
  [/\|/, '|'],
  [/&/, '&'],
  [/;/, ';'],
  [/[<>]/, 'redirection'],
  [/\$\(|`/, 'command substitution'],
  [/\$[A-Za-z_{]/, '$VARIABLE'],
  [/[*?]/, 'glob'],
]

export function splitShellWords(text: string): ShellWords {
  const words: string[] = []
  let word = ''
  let plain = '' // every character outside quotes, where a shell would see syntax
  let inWord = false
  let quote: "'" | '"' | null = null
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (quote === "'") {
      if (char === "'") quote = null
      else word += char
      continue
    }
    if (quote === '"') {
      if (char === '"') quote = null
      else if (char === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) word += text[++i]
      else word += char
      continue
    }
    if (char === '\\') {
      if (i + 1 < text.length) word += text[++i]
      inWord = true
    } else if (char === "'" || char === '"') {
      quote = char
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += char
      plain += char
      inWord = true
    }
  }
  if (quote !== null) return { error: `a ${quote === "'" ? 'single' : 'double'} quote is not closed` }
  if (inWord) words.push(word)
  const shellSyntax = SHELL_SYNTAX.filter(([pattern]) => pattern.test(plain)).map(([, name]) => name)
  return { words, shellSyntax }
}
