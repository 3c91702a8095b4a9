#!/bin/sh
# Summary: GPUs under direct (docs/protocol.md, "Limits"): submit claims N of the host's devices that no
#   running job of the queue holds and gives the job CUDA_VISIBLE_DEVICES (gpus_claim); the wrapper gives
#   them back when the job ends (gpus_release)
# Usage: sourced (function definitions only)
# shellcheck shell=sh
# shellcheck disable=SC2154 # state_line: read_state_into (lib/common.sh); self_pid, self_id: submit

# gpus_devices_into: set gpus_devices to the host's devices, words: the first line of the queue's gpus
# file ("0 1 2 3", or UUIDs), else the indexes of `nvidia-smi -L` ("GPU 0: ..."); empty when neither
gpus_devices_into() {
	gpus_devices=
	if read_state_into "$TEJ_ROOT/gpus"; then
		for _gpus_d in $state_line; do
			case $_gpus_d in
			*[!A-Za-z0-9-]*) ;;
			*) gpus_devices="$gpus_devices $_gpus_d" ;;
			esac
		done
	elif has_cmd nvidia-smi; then
		_gpus_list=$(nvidia-smi -L 2>/dev/null) || _gpus_list=
		while IFS=' ' read -r _gpus_word _gpus_n _gpus_rest; do
			test "$_gpus_word" = GPU || continue
			case ${_gpus_n%:} in
			'' | *[!0-9]*) ;;
			*) gpus_devices="$gpus_devices ${_gpus_n%:}" ;;
			esac
		done <<EOF
$_gpus_list
EOF
	fi
	gpus_devices=${gpus_devices# }
}

# gpus_claim ID N META: claim N free devices for job ID in the queue's gpu-claims/ (a file per device,
# holding the id of the job that has it) and write META/env/CUDA_VISIBLE_DEVICES and META/gpus-claimed;
# fail when fewer are free. A claim is free when its job has ended (exit-code), or when neither the
# job nor a staging dir of it is there (a submit that claimed and was then refused). Submits claim one
# at a time (gpus_lock).
gpus_claim() {
	gpus_devices_into
	test -n "$gpus_devices" || return 1
	gpus_lock || return 1
	_gpus_claims=$TEJ_ROOT/gpu-claims
	_gpus_free=
	_gpus_n=0
	for _gpus_d in $gpus_devices; do
		test "$_gpus_n" -lt "$2" || break
		if read_state_into "$_gpus_claims/$_gpus_d"; then
			case $state_line in
			'' | *[!A-Za-z0-9._-]*) ;;
			*)
				if test -d "$TEJ_ROOT/jobs/$state_line" && ! test -f "$TEJ_ROOT/jobs/$state_line/exit-code"; then
					continue
				fi
				for _gpus_s in "$TEJ_ROOT/staging/$state_line".*; do
					test -d "$_gpus_s" && continue 2
				done
				;;
			esac
		fi
		_gpus_free="$_gpus_free $_gpus_d"
		_gpus_n=$((_gpus_n + 1))
	done
	if test "$_gpus_n" -lt "$2"; then
		gpus_unlock
		return 1
	fi
	mkdir -p "$_gpus_claims" "$3/env" 2>/dev/null || true
	for _gpus_d in $_gpus_free; do
		printf '%s\n' "$1" >"$_gpus_claims/$_gpus_d" || {
			gpus_unlock
			return 1
		}
	done
	_gpus_free=${_gpus_free# }
	# no comma-separated list without an exec: a loop over the words
	_gpus_csv=
	for _gpus_d in $_gpus_free; do _gpus_csv=$_gpus_csv${_gpus_csv:+,}$_gpus_d; done
	# read_raw takes the whole file: no newline
	printf '%s' "$_gpus_csv" >"$3/env/CUDA_VISIBLE_DEVICES"
	printf '%s\n' "$_gpus_free" >"$3/gpus-claimed"
	gpus_unlock
}

# gpus_lock: take gpu-claims.lock, waiting for a live holder. The lock is a file holding its holder's
# "PID IDENTITY", linked into place (ln is atomic and fails when the name exists: the wrapper's
# `launched` does the same), so it never lacks its holder. A dead holder's lock is renamed away (one
# rename wins) and read again: one that names another holder (taken between our read and the rename) is
# linked back.
gpus_lock() {
	_gpus_lock=$TEJ_ROOT/gpu-claims.lock
	printf '%s\n' "$self_pid${self_id:+ $self_id}" >"$_gpus_lock.$$" || return 1
	_gpus_tries=0
	until ln "$_gpus_lock.$$" "$_gpus_lock" 2>/dev/null; do
		if read_state_into "$_gpus_lock" && ! proc_alive "$state_line"; then
			_gpus_dead=$state_line
			if mv "$_gpus_lock" "$_gpus_lock.dead.$$" 2>/dev/null; then
				if read_state_into "$_gpus_lock.dead.$$" && test "$state_line" != "$_gpus_dead"; then
					ln "$_gpus_lock.dead.$$" "$_gpus_lock" 2>/dev/null || true
				fi
				rm -f "$_gpus_lock.dead.$$"
			fi
			continue
		fi
		_gpus_tries=$((_gpus_tries + 1))
		# a minute: a holder claims in milliseconds
		if test "$_gpus_tries" -ge 600; then
			rm -f "$_gpus_lock.$$"
			return 1
		fi
		nap
	done
	rm -f "$_gpus_lock.$$"
}

gpus_unlock() {
	rm -f "$TEJ_ROOT/gpu-claims.lock"
}

# gpus_release: in the wrapper, before it records the end: give back the devices of meta/gpus-claimed
# that the queue's gpu-claims/ still gives to this job
gpus_release() {
	read_state_into "$meta/gpus-claimed" || return 0
	for _gpus_d in $state_line; do
		case $_gpus_d in
		*[!A-Za-z0-9-]*) continue ;;
		esac
		if read_state_into "$TEJ_ROOT/gpu-claims/$_gpus_d" && test "$state_line" = "$job_id"; then
			rm -f "$TEJ_ROOT/gpu-claims/$_gpus_d"
		fi
	done
}
