#!/bin/sh
# Summary: The queue's content store: blobs of uploaded files, placed into jobs, evicted by age
#   (sourced by submit.sh and store.sh after common.sh and proc.sh; docs/protocol.md, "The content
#   store"). The contents of uploaded files and their tar headers, each a blob named by its sha256, so
#   that a later submit sends only what the host lacks. Layout under $TEJ_ROOT/store: objects/HASH
#   (0400, whole and verified: they appear only by rename), claims/NONCE (the hashes a submit in flight
#   was told are here: eviction keeps them), pad/N (N zero bytes, tar padding), lock/ (held while
#   claiming, counting or evicting), bytes (the store's size as counted), adopting/ATTEMPT (a submit's
#   new blobs while their copies are made, store_adopt). Jobs never share an inode
#   with the store: a submit places each file by extracting a tar whose contents are read from it
#   (store_place), each content checked against its name as it is placed (a job can write the store);
#   a new content is the job's file, written once from the upload, and the store gets a copy of it.
# Length: over 250 lines: one store's steps (ask, place, adopt, evict) share its layout, lock and count
# shellcheck disable=SC2034,SC2154 # sets store_* for its callers; reads state_line, self_pid, self_id

# store_config: set store_dir, store_max (bytes; config's store_max_bytes=, default 2 GiB; 0 turns
# the store off) and store_tool (the sha256 tool found, else empty: no store on this host).
store_config() {
	store_dir=$TEJ_ROOT/store
	store_max=2147483648
	if test -f "$TEJ_ROOT/config"; then
		_store_line=
		while IFS= read -r _store_line || test -n "$_store_line"; do
			case $_store_line in
			store_max_bytes=*) store_max=${_store_line#store_max_bytes=} ;;
			esac
			_store_line=
		done <"$TEJ_ROOT/config"
	fi
	case $store_max in
	'' | *[!0-9]*) store_max=2147483648 ;;
	esac
	# The host checks every content against its name before it enters the store: a later job gets what
	# the client hashed, never what a torn or wrong upload left. A host with none of these has no store.
	sha256_tool_into || true
	store_tool=$sha256_tool
}

# store_on: whether this host keeps a store (creates its directories)
store_on() {
	store_config
	test -n "$store_tool" && test "$store_max" != 0 || return 1
	test -d "$store_dir/pad" || mkdir -p "$store_dir/objects" "$store_dir/claims" "$store_dir/pad"
}

# store_lock: take store/lock (mkdir); a lock whose holder died is broken. Waits up to 600 naps.
store_lock() {
	_store_naps=0
	until mkdir "$store_dir/lock" 2>/dev/null; do
		if read_state_into "$store_dir/lock/owner"; then
			# shellcheck disable=SC2086 # split on purpose: pid and identity
			set -- $state_line
			if ! proc_alive "$1" "${2:-}"; then
				rm -rf "$store_dir/lock"
				continue
			fi
		fi
		_store_naps=$((_store_naps + 1))
		test "$_store_naps" -le 600 || die "$EX_TEMPFAIL" "the content store $store_dir is locked by another submit; try again"
		nap
	done
	self_into
	printf '%s %s\n' "$self_pid" "$self_id" >"$store_dir/lock/owner"
}

store_unlock() {
	rm -rf "$store_dir/lock"
}

# store_lacks NONCE|- HASH...: set store_lacking to the (0-based, comma separated) positions of the
# HASHes whose content the store lacks. The others are claimed for NONCE's submit (eviction keeps them
# until it has placed them) and touched (least recently used goes first).
store_lacks() {
	_store_claim=$store_dir/claims/$1
	# NONCE -: a question only (submit --dry-run): nothing claimed, nothing touched
	test "$1" != - || _store_claim=/dev/null
	shift
	store_lacking=
	test $# -gt 0 || return 0
	# One awk for thousands of hashes (a loop of the shell's own tests cost 0.4 s for 4000 on a loaded
	# host): the hashes the store holds are those ls finds among them.
	printf '%s\n' "$@" >"$store_dir/asked.$$"
	awk 'length($0) != 64 || $0 ~ /[^0-9a-f]/ { print; exit 1 }' "$store_dir/asked.$$" >"$store_dir/bad.$$" || {
		read_state_into "$store_dir/bad.$$" || state_line=
		rm -f "$store_dir/asked.$$" "$store_dir/bad.$$"
		die "$EX_DATAERR" "bad content hash '$state_line'"
	}
	# what a submit just before this one sent is being copied into the store: wait for it
	test ! -d "$store_dir/adopting" || store_adopted
	store_lock
	(cd "$store_dir/objects" && xargs ls -d 2>/dev/null) <"$store_dir/asked.$$" >"$store_dir/held.$$" || true
	store_lacking=$(awk -v claim="$_store_claim" '
		FILENAME != "-" { held[$0] = 1; next }
		$0 in held { print > claim; next }
		{ out = out sep (FNR - 1); sep = "," }
		END { printf "%s", out }' "$store_dir/held.$$" - <"$store_dir/asked.$$")
	if test "$_store_claim" != /dev/null && test -s "$_store_claim"; then
		(cd "$store_dir/objects" && xargs touch -c) <"$_store_claim" || true
	fi
	store_unlock
	rm -f "$store_dir/asked.$$" "$store_dir/held.$$" "$store_dir/bad.$$"
}

# store_cat: the files named on stdin, one after the other, on stdout (xargs cat). GNU cat allocates
# its 128 KiB buffer afresh for each file, just over glibc malloc's mmap threshold: a mmap, a page
# fault for each of its pages and a munmap per file, 0.25 ms on a virtual machine (4000 files: 1.0 s
# of system time, against 0.05 s with the buffer kept on the heap, as these tunables do). Other C
# libraries ignore the variable.
store_cat() {
	GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=8388608 xargs cat
}

# store_place UPLOAD [KEEP]: put the files the upload names in UPLOAD/store into UPLOAD/work. The
# client sent store/plan, a line per file placed from blobs: HEADER-HASH new|old CONTENT-HASH new|old
# SIZE, and store/new/HASH for each blob the store lacked: a header as a file, a content as a hard link
# to the job's file in work/ (sent there whole). A file's tar header (its name, mode and mtime) is a
# blob like its content: a later submit of the same file sends neither. The store's copies of the new
# blobs are made and checked against their names while one tar of headers, contents and padding is
# read by the host's tar (one cat for thousands of files, no file made per header). With KEEP, that
# tar is kept there (resubmit). Fails with store_error set.
store_place() {
	_store_s=$1/store
	store_error=
	store_config
	test -n "$store_tool" || {
		store_error="this host has no sha256 tool for the content store"
		return 1
	}
	if ! test -f "$_store_s/plan"; then
		store_error="the upload's store plan is missing"
		return 1
	fi
	: >"$_store_s/names"
	test ! -d "$_store_s/new" || ls "$_store_s/new" >"$_store_s/names"
	ln -s "$store_dir" "$_store_s/root"
	# The list of files whose concatenation is the tar: each entry's header, its content, its padding,
	# then the end blocks. Names hold no blanks: xargs reads them as they are.
	awk -v list="$_store_s/list" -v pads="$_store_s/pads" -v olds="$_store_s/olds.all" '
		function blob(h, where) {
			if (h !~ /^[0-9a-f]+$/ || length(h) != 64 || (where != "new" && where != "old")) { bad = 1; exit }
			if (where == "old") print h > olds
			return (where == "new" ? "new/" : "root/objects/") h
		}
		NF != 5 || $5 !~ /^[0-9]+$/ { bad = 1; exit }
		{
			print blob($1, $2) > list
			print blob($3, $4) > list
			r = $5 % 512
			if (r) { print "root/pad/" (512 - r) > list; need[512 - r] = 1 }
		}
		END { if (bad) exit 1; printf "" > olds; print "root/pad/1024" > list; need[1024] = 1; for (k in need) print k > pads }
	' "$_store_s/plan" || {
		store_error="the upload's store plan is malformed"
		return 1
	}
	while IFS= read -r _store_pad; do
		test -f "$store_dir/pad/$_store_pad" && continue
		if ! dd if=/dev/zero of="$_store_s/pad.tmp" bs="$_store_pad" count=1 2>/dev/null ||
			! mv -f "$_store_s/pad.tmp" "$store_dir/pad/$_store_pad"; then
			store_error="cannot write the store's padding files"
			return 1
		fi
	done <"$_store_s/pads"
	# The contents taken from the store are checked against their names too: a job runs as the queue's
	# user and can rewrite a file of the store; what it wrote must not become a later job's input. The
	# check runs beside the placement (two cores: 200 MB placed in 0.47 s, hashed in 0.2 s), and a
	# changed content fails this submit before its job exists (its staging is removed, nothing started).
	sort -u "$_store_s/olds.all" >"$_store_s/olds"
	: >"$_store_s/oldsums"
	_store_hashing=
	if test -s "$_store_s/olds"; then
		(
			# shellcheck disable=SC2086 # store_tool is a command and its options; names are hashes
			# shellcheck disable=SC2086
			if test -s "$_store_s/olds"; then
				(cd "$store_dir/objects" && xargs $store_tool) <"$_store_s/olds" >"$_store_s/oldsums" 2>/dev/null || true
			fi
		) &
		_store_hashing=$!
	fi
	_store_placed=yes
	if test -n "${2:-}"; then
		(cd "$_store_s" && store_cat <list) >"$2" && untar "$1/work" <"$2" || _store_placed=
	else
		{ (cd "$_store_s" && store_cat <list) || : >"$_store_s/failed"; } | untar "$1/work" || _store_placed=
		! test -f "$_store_s/failed" || _store_placed=
	fi
	test -z "$_store_hashing" || wait "$_store_hashing" || true
	# A changed content is removed (the next submit sends it again) and this submit refused.
	awk 'FILENAME != "-" { sub(/^\*/, "", $2); if ($1 == $2) ok[$1] = 1; next } $1 ~ /^[0-9a-f]+$/ && !($1 in ok) { print }' \
		"$_store_s/oldsums" - <"$_store_s/olds" >"$_store_s/changed"
	if test -s "$_store_s/changed"; then
		(cd "$store_dir/objects" && xargs rm -f) <"$_store_s/changed" || true
		store_error="$(wc -l <"$_store_s/changed" | tr -d ' ') contents of the store $store_dir were changed or removed since they were stored (removed now): submit again, and they are sent again"
		return 1
	fi
	test -n "$_store_placed" || {
		store_error="placing the files from the store failed"
		return 1
	}
}

# store_settle UPLOAD NONCE: after store_place, drop NONCE's claim and hand the new blobs to
# store_adopt, in the background: the job's files were written once, from the upload, and the store's
# copies of them are made after the job has started (the submit does not wait for a second write of
# every new byte). The names go to store/adopting/NONCE first, with an owner file that a later
# store_lacks waits on: the submit until the adopter has started, then the adopter.
store_settle() {
	_store_s=$1/store
	rm -f "$store_dir/claims/$2"
	test -s "$_store_s/names" || return 0
	test -d "$store_dir/adopting" || mkdir "$store_dir/adopting" 2>/dev/null || test -d "$store_dir/adopting" || return 0
	# named after the staging directory: this attempt's own (a retry has the same nonce)
	_store_a=${1%/upload}
	_store_a=$store_dir/adopting/${_store_a##*/}
	mv "$_store_s" "$_store_a" || return 0
	self_into
	printf '%s %s\n' "$self_pid" "$self_id" >"$_store_a/owner"
	(store_adopt "$_store_a") </dev/null >/dev/null 2>&1 &
	proc_identity_into "$!" || proc_id=
	# the adopter may be done (and its directory gone) already
	{ printf '%s %s\n' "$!" "$proc_id" >"$_store_a/owner.tmp" && mv -f "$_store_a/owner.tmp" "$_store_a/owner"; } 2>/dev/null || true
}

# store_adopt DIR: copy the blobs named in DIR/new (a header as a file, a content as a hard link to a
# job's file) to DIR/in, hash the copies, and move those that match their names into the store (a
# rename: whole or absent); then count the store's bytes, and evict down to the cap when it grew past
# it. The copy, not the job's file, is hashed: a job that rewrote its input before it was copied leaves
# nothing in the store (the next submit sends that content again). store/bytes counts the store's
# bytes (each adoption adds its own, store_evict counts them all again), so that a submit under the
# cap does not list the whole store (0.6 s for 4000 blobs on a loaded host); what is evicted is always
# chosen from the listing itself.
store_adopt() {
	mkdir "$1/in" || return 0
	: >"$1/sums"
	# shellcheck disable=SC2016,SC2086 # expanded by the shell xargs runs; store_tool is a command and its options
	{ (cd "$1/new" && xargs sh -c 'cp "$@" "$0"' "$1/in") <"$1/names" &&
		(cd "$1/in" && xargs $store_tool) <"$1/names" >"$1/sums"; } || true
	awk 'FILENAME != "-" { sub(/^\*/, "", $2); if ($1 == $2) ok[$1] = 1; next } $0 in ok { print }' \
		"$1/sums" - <"$1/names" >"$1/good"
	_store_added=0
	if test -s "$1/good"; then
		_store_added=$( (cd "$1/in" && xargs ls -n) <"$1/good" | awk '{ s += $5 } END { printf "%.0f", s }')
		# shellcheck disable=SC2016 # expanded by the shell xargs runs
		(cd "$1/in" && xargs sh -c 'chmod 400 "$@" && mv -f "$@" "$0"' "$store_dir/objects") <"$1/good" || true
	fi
	rm -rf "$1"
	store_lock
	_store_count=
	read_state_into "$store_dir/bytes" && _store_count=$state_line
	case $_store_count$_store_added in
	'' | *[!0-9]*) _store_count=over ;;
	*) _store_count=$(awk -v a="$_store_count" -v b="$_store_added" -v max="$store_max" 'BEGIN { if (a + b > max) print "over"; else printf "%.0f", a + b }') ;;
	esac
	test "$_store_count" = over || printf '%s\n' "$_store_count" >"$store_dir/bytes"
	store_unlock
	test "$_store_count" != over || store_evict "$store_max" || true
}

# store_adopted: wait until no adoption is under way (store_adopt), removing those whose owner died
# (waits up to 600 naps for each).
store_adopted() {
	for _store_a in "$store_dir"/adopting/*; do
		test -d "$_store_a" || continue
		_store_naps=0
		while test -d "$_store_a"; do
			if read_state_into "$_store_a/owner"; then
				# shellcheck disable=SC2086 # split on purpose: pid and identity
				set -- $state_line
				# the owner file is replaced (submit, then adopter): dead twice in a row is dead
				if ! proc_alive "$1" "${2:-}" && read_state_into "$_store_a/owner" && test "$state_line" = "$1 ${2:-}"; then
					rm -rf "$_store_a"
					break
				fi
			fi
			_store_naps=$((_store_naps + 1))
			test "$_store_naps" -le 600 || break
			nap
		done
	done
}

# store_evict MAX: remove the least recently used contents until the store holds at most MAX bytes,
# never one a submit in flight has claimed (claims a day old are left by dead submits: dropped). Sets
# store_bytes (after), store_removed and store_removed_bytes.
store_evict() {
	store_lock
	find "$store_dir/claims" -type f -mtime +0 -exec rm -f {} + 2>/dev/null || true
	for _store_claim in "$store_dir"/claims/*; do
		test -f "$_store_claim" && cat "$_store_claim"
	done >"$store_dir/lock/claimed"
	# ls -nrt: oldest first; fields: mode links uid gid size date (3 fields) name
	_store_out=$( (cd "$store_dir/objects" && ls -nrt) | awk -v max="$1" -v victims="$store_dir/lock/victims" '
		FILENAME != "-" { claimed[$1] = 1; next }
		NF >= 9 && length($9) == 64 { size[++n] = $5; name[n] = $9; total += $5 }
		END {
			removed = 0; freed = 0
			printf "" > victims
			for (i = 1; i <= n && total > max; i++) {
				if (name[i] in claimed) continue
				print name[i] > victims
				total -= size[i]; removed++; freed += size[i]
			}
			printf "%.0f %d %.0f\n", total, removed, freed
		}' "$store_dir/lock/claimed" -)
	if test -s "$store_dir/lock/victims"; then
		(cd "$store_dir/objects" && xargs rm -f) <"$store_dir/lock/victims" || true
	fi
	printf '%s\n' "${_store_out%% *}" >"$store_dir/bytes"
	store_unlock
	# shellcheck disable=SC2086 # three numbers
	set -- $_store_out
	store_bytes=${1:-0}
	store_removed=${2:-0}
	store_removed_bytes=${3:-0}
}
