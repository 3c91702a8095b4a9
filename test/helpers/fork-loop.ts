// A job that starts up to 20 background processes, for max_processes (RLIMIT_NPROC) tests.

/**
 * `sh -c FORK_LOOP sh DIR`: starts up to 20 background readers of a pipe, printing `started N` after
 * each, and `loop failed: STATUS` when a fork fails (dash: "Cannot fork", 2). The readers hold their
 * process slots until the loop is done, then all get EOF together: the pipe's only writer reads a line
 * from the FIFO DIR/ctl (opened read-write: no open blocks, whoever comes first) and exits once the loop
 * writes it. No reader outlives the job, and none waits on a timer. The readers' stdin is an explicit
 * redirection: an asynchronous list's own is /dev/null.
 */
export const FORK_LOOP = `mkfifo "$1/ctl"
(exec 3<>"$1/ctl"; read -r _ <&3) | {
	exec 4<&0
	(
		i=0
		while [ $i -lt 20 ]; do
			cat <&4 >/dev/null &
			i=$((i + 1))
			echo "started $i"
		done
	) || echo "loop failed: $?"
	echo done >"$1/ctl"
}
`;

/** The last `started N` of the loop's output (0 when none started). */
export function startedOf(out: string): number {
  return Number([...out.matchAll(/^started (\d+)$/gm)].at(-1)?.[1] ?? 0);
}
