// `tej completion [bash|zsh]`: a script that asks `tej --get-yargs-completions` (yargs' completion engine,
// enabled in main.ts) for the commands and options matching the word being typed.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

type Shell = 'bash' | 'zsh';

interface Args extends GlobalArgs {
  shell?: Shell;
}

// From yargs' templates; the zsh one sets SHELL=zsh for the call, since yargs picks its answer format
// ("name:description" for zsh) from $SHELL, which in a zsh started from bash still says bash.
const SCRIPTS: Record<Shell, string> = {
  bash: `###-begin-tej-completions-###
# tej completion for bash. Install: tej completion bash >> ~/.bashrc
_tej_completions()
{
    local cur_word type_list
    cur_word="\${COMP_WORDS[COMP_CWORD]}"
    type_list=$(tej --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)
    COMPREPLY=( $(compgen -W "\${type_list}" -- "\${cur_word}") )
    # nothing matched: bash's own completion (files, for job directories)
    return 0
}
complete -o bashdefault -o default -F _tej_completions tej
###-end-tej-completions-###
`,
  zsh: `#compdef tej
###-begin-tej-completions-###
# tej completion for zsh. Install: tej completion zsh >> ~/.zshrc (after compinit)
_tej_completions()
{
  local reply
  local si=$IFS
  IFS=$'\\n' reply=($(SHELL=zsh COMP_CWORD="$((CURRENT-1))" COMP_LINE="$BUFFER" COMP_POINT="$CURSOR" tej --get-yargs-completions "\${words[@]}" 2>/dev/null))
  IFS=$si
  if [[ \${#reply} -gt 0 ]]; then _describe 'values' reply; else _files; fi
}
compdef _tej_completions tej
###-end-tej-completions-###
`,
};

export const completionCommand: CommandModule<GlobalArgs, Args> = {
  command: 'completion [shell]',
  describe: 'Print a shell completion script (bash or zsh; default: from $SHELL)',
  builder: (y) => y.positional('shell', { choices: ['bash', 'zsh'] as const }),
  handler: (argv) => {
    const shell: Shell = argv.shell ?? (process.env.SHELL?.endsWith('zsh') ? 'zsh' : 'bash');
    process.stdout.write(SCRIPTS[shell]);
  },
};
