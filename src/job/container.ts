// The container a job ran in (docs/protocol.md, "Container images"): the container= line of a show
// record, "RUNTIME IMAGE" as submit chose them on the host (lib/container.sh). The job can rewrite the
// file: a runtime tej does not know gives no record, never a guess.

/** The runtimes lib/container.sh knows. */
export const CONTAINER_RUNTIMES = ['ch-run', 'apptainer', 'singularity', 'podman'] as const;

/** `--json`'s container object. */
export interface Container {
  runtime: (typeof CONTAINER_RUNTIMES)[number];
  image: string;
}

/** The container= line; undefined when there is none, or when it is not of the helper's form. */
export function parseContainer(line: string | undefined): Container | undefined {
  if (!line) return undefined;
  const space = line.indexOf(' ');
  if (space < 0) return undefined;
  const runtime = line.slice(0, space);
  const image = line.slice(space + 1);
  if (!(CONTAINER_RUNTIMES as readonly string[]).includes(runtime) || image === '') return undefined;
  return { runtime: runtime as Container['runtime'], image };
}

/** The human line: `localhost/bb (podman)`. */
export function describeContainer(c: Container | undefined): string | undefined {
  return c ? `${c.image} (${c.runtime})` : undefined;
}
