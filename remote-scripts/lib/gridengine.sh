#!/bin/sh
# Summary: What the sge plugin (queues/sge.sh) adds to plain submit, status and kill: qdel only of the
#   jobs tej made (sge_owned), states only of the jobs listed under the job's name (sge_xml_lines,
#   sge_join), dependencies as qsub -hold_jid (sge_hold_into), the rerun of an array's task (sge_array_rerun)
# Usage: load_lib gridengine   (queues/sge.sh loads it; function definitions only)
# Output (proto 1): nothing by itself
# Exit: sge_array_rerun fails with qsub's status (queue_submit)
# Not in the libraries embedded in a batch script (LIBS): the wrapper never asks Grid Engine.
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # sets sge_* for queue_submit and queue_kill (sge.sh); reads state_line

# sge_owned_into DIR NATIVE: set sge_owned_bases to " JOBID " when qstat -j shows that this user's Grid
# Engine job JOBID (of NATIVE, JOBID or JOBID.T) is named after the job or array in DIR and has its
# directory in its context (tej_dir=CKSUM, sge_context): Grid Engine holds both as qsub got them, a job
# cannot rewrite them; to " " when it does not (sge_owned_seen: yes) or has ended (qstat forgot it:
# sge_owned_seen empty). 2 when qstat does not answer.
sge_owned_into() {
	sge_owned_dir=$1
	sge_owned_bases=' '
	sge_owned_seen=
	# stderr too: it tells an unknown job ("do not exist") from a qmaster that did not answer
	_soi_out=$(qstat -j "${2%%.*}" 2>&1) || {
		case $_soi_out in *"do not exist"*) return 1 ;; esac
		return 2
	}
	sge_owned_seen=yes
	_soi_dir=$(sge_context "$1")
	_soi_dir=${_soi_dir#*,}
	_soi_line=$(printf '%s\n' "$_soi_out" | awk -v me="$(id -un)" -v name="${1##*/}" '
		$1 == "owner:" { o = $2 } $1 == "job_name:" { n = $2 }
		$1 == "context:" { sub(/^context:[ \t]*/, ""); c = $0 }
		END { if (o == me && n == name) print "," c "," }')
	case $_soi_line in *",$_soi_dir,"*) sge_owned_bases=" ${2%%.*} " ;; esac
}

# sge_xml_lines: read `qstat -u USER -xml`, print "ID STATE QUEUE NAME" for each job (QUEUE - while it
# has none), "JOBID.T STATE QUEUE NAME" for each task T of an array (<tasks>: one running task, or the
# pending ones as ranges and lists: 2-6:1, 2,3,5,6, 2-10:4); NAME is the whole job name, which the plain
# listing cuts at 10 characters (fixtures/sge/qstat-u-xml-*.txt)
sge_xml_lines() {
	awk 'function val(v) { v = $0; gsub(/^[^>]*>|<\/[^<]*$/, "", v); return v }
		/<job_list[ >]/ { id = ""; st = ""; q = "-"; nm = ""; t = ""; next }
		/<JB_job_number>/ { id = val() } /<JB_name>/ { nm = val() } /<state>/ { st = val() }
		/<queue_name>/ { if (val() != "") q = val() } /<tasks>/ { t = val() }
		/<\/job_list>/ { if (id !~ /^[0-9]+$/) next
			if (t == "") { print id, st, q, nm; next }
			n = split(t, parts, ","); for (k = 1; k <= n; k++) { r = parts[k]; step = 1
				if (split(r, rs, ":") > 1) { r = rs[1]; step = rs[2] + 0 } if (step < 1) step = 1
				m = split(r, ab, "-"); b = (m > 1) ? ab[2] : ab[1]
				for (i = ab[1] + 0; i <= b + 0; i += step) print id "." i, st, q, nm } }'
}

# sge_join XML_LINES: read "NATIVE_ID JOB_DIR" lines, print "NATIVE_STATE NATIVE_ID JOB_DIR" lines from
# sge_xml_lines' (NATIVE_STATE - when qstat has no such job). native-id is in the job's reach: a state
# counts only when qstat lists that id under the job's name (its array's for a task; the listing holds
# no context, and a qstat -j per job would cost a call each). A rewritten id gives the state of the job
# listed under the job's name (not for a task), with its id; else "? - JOB_DIR" (the id is another job's:
# no qacct either).
sge_join() {
	{
		printf '%s\n' "$1" | sed 's/^/S /'
		sed 's/^/J /'
	} | awk -v jobs="$TEJ_ROOT/jobs/" '
		$1 == "S" && NF >= 5 { st[$2] = $3; nm[$2] = $5; if ($2 !~ /\./ && !($5 in byname)) byname[$5] = $2; next }
		$1 == "J" && NF >= 3 { id = $2; dir = substr($0, length($1) + length($2) + 3)
			own = dir; rel = (index(dir, jobs) == 1) ? substr(dir, length(jobs) + 1) : ""
			task = (rel ~ /\//); if (task) sub(/\/[^\/]*$/, "", own)
			name = own; sub(/.*\//, "", name)
			if ((id in st) && nm[id] == name) print st[id], id, dir
			else if (!task && (name in byname)) print st[byname[name]], byname[name], dir
			else if (id in st) print "?", "-", dir
			else print "-", id, dir }'
}

# sge_owned DIR NATIVE: whether NATIVE (JOBID or JOBID.T, read from files the job can write) is a Grid
# Engine job tej submitted for the job in DIR, or for its array when DIR is a task's (ID/N: by the id the
# caller named, not by a file). Asks qstat -j unless sge_owned_bases holds that directory's answer already
# (sge_owned_dir: the last directory asked about). 1 when it is not, 2 when qstat does not answer. So
# `kill` deletes only what tej made for this job (docs/protocol.md, "Grid Engine").
sge_owned() {
	_so_dir=$1
	case ${1#"$TEJ_ROOT/jobs/"} in */*) _so_dir=${1%/*} ;; esac
	_so_base=${2%%.*}
	case $_so_base in '' | *[!0-9]*) return 1 ;; esac
	case ${2#"$_so_base"} in '' | .[1-9]*) ;; *) return 1 ;; esac
	case ${2#"$_so_base".} in *[!0-9]*) return 1 ;; esac
	if test "${sge_owned_dir-}" != "$_so_dir"; then
		sge_owned_into "$_so_dir" "$_so_base" || return
	fi
	case $sge_owned_bases in *" $_so_base "*) return 0 ;; esac
	return 1
}

# sge_hold_into META: set sge_hold to qsub's -hold_jid value for META/after (JOBID,JOBID...), empty
# without dependencies or for a rerun (sge_hold_none: met once). Grid Engine releases the job once each
# of those jobs has left the queue however it ended (an array: all its tasks); `ok` is the job's
# wrapper's to judge (after_wait, lib/after.sh). Only ids that qstat shows as tej's for the dependency
# (sge_owned, sge_jobs: name and context), never native-id or native-ids as read (a job can rewrite
# them: a forged id would hold the dependant on another job of the user; the dependency's own jobs are
# then found by name and context). A dependency that has ended
# already, or that Grid Engine has forgotten, holds nothing (its wrapper waits all the same). Fails with
# 75 (sge_hold_bad) when qstat does not answer.
sge_hold_into() {
	sge_hold=
	sge_hold_bad=
	test -z "${sge_hold_none:-}" || return 0
	test -f "$1/after" || return 0
	while read -r _sh_id _sh_mode _sh_rest; do
		is_job_id "$_sh_id" || continue
		_sh_dir=$TEJ_ROOT/jobs/$_sh_id
		read_state_into "$_sh_dir/native-id" || continue
		_sh_rc=0
		if test "$state_line" = array; then
			# each Grid Engine job qstat shows as the array's (its own, and the reruns of its tasks)
			_sh_ids=$(sge_jobs "$_sh_dir" </dev/null) || _sh_rc=$?
		else
			test ! -f "$_sh_dir/exit-code" || continue
			# a task (JOBID.T): its array job, all tasks (-hold_jid takes no task); asked afresh for each
			# dependency (sge_owned keeps one directory's answer)
			sge_owned_dir=
			sge_owned "$_sh_dir" "$state_line" </dev/null || _sh_rc=$?
			_sh_ids=${state_line%%.*}
			if test "$_sh_rc" = 1; then
				# a rewritten id: the Grid Engine jobs tej made for it (a task: for its array), by name and context
				_sh_rc=0
				_sh_own=$_sh_dir
				case $_sh_id in */*) _sh_own=${_sh_dir%/*} ;; esac
				_sh_ids=$(sge_jobs "$_sh_own" </dev/null) || _sh_rc=$?
			fi
		fi
		case $_sh_rc in
		0) ;;
		1) continue ;;
		*)
			sge_hold_bad="qstat did not answer: cannot tell the Grid Engine jobs of $_sh_id; try again"
			return "$EX_TEMPFAIL"
			;;
		esac
		for _sh_sid in $_sh_ids; do
			case $_sh_sid in '' | *[!0-9]*) continue ;; esac
			sge_hold="${sge_hold:+$sge_hold,}$_sh_sid"
		done
	done <"$1/after"
}

# sge_array_rerun DIR N: run task N of the Grid Engine array in DIR again (array_requeue, under the
# array's lock): prepared as at submit, then one qsub -t 1 whose batch script runs task N alone, named
# and with the context of the array (so that kill finds it), without the array's holds (met once); its
# native id JOBID.1, its Grid Engine output DIR/N/sge.out
sge_array_rerun() {
	load_queue sge
	self_into
	array_task_prepare "$1" "$2" sge || return
	cp "$1/attempt" "$1/$2/attempt" 2>/dev/null || :
	printf '%s %s\n' "$self_pid" "$self_id" >"$1/$2/submitter"
	: >"$1/$2/native-open"
	TEJ_ATTEMPT=$(read_state "$1/attempt") || TEJ_ATTEMPT=
	export TEJ_ATTEMPT
	sge_array_tasks=" $2"
	sge_array_spec=1
	sge_array_throttle=
	sge_array_output=$1/$2/sge.out
	sge_hold_none=yes
	_sar_id=$(queue_submit "$1" </dev/null) || return
	printf '%s\n' "$_sar_id" >>"$1/native-ids"
	write_state "$1/$2/submitted" "$(now)"
	write_state "$1/$2/native-id" "$_sar_id.1"
	rm -f "$1/$2/submitter"
}
