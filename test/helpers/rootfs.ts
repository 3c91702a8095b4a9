// A container image built inside a test, as the lab user, from the host's own files: a directory
// holding the host's busybox, the libraries ldd names for it, and the mount points ch-run needs
// (/work for the job's directory; etc/passwd and etc/group, which it binds from the host). No
// registry, no debootstrap, no root.

/** A bash command line that builds the image directory DIR (mkrootfs.sh-style). */
export function mkrootfsCommand(dir: string): string {
  return `set -eu
d=${dir}
rm -rf "$d"; mkdir -p "$d/bin" "$d/etc" "$d/work" "$d/tmp" "$d/proc" "$d/dev" "$d/sys" "$d/home"
cp /usr/bin/busybox "$d/bin/busybox"
for l in $(ldd /usr/bin/busybox | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\\//) print $i }'); do
  mkdir -p "$d\${l%/*}"; cp "$l" "$d$l"
done
for a in sh cat echo env pwd ls sleep id; do ln -s busybox "$d/bin/$a"; done
: > "$d/etc/passwd"; : > "$d/etc/group"
echo image-marker > "$d/etc/tej-image"`;
}
