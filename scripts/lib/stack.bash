# scripts/lib/stack.bash — start what the tests, the demo and the benchmarks run against, and
# stop all of it at exit. Source it from the repository root; it sets the EXIT trap.
#
#   stack_kind          scripts/kind-env up in a new directory; exports DOCKER_HOST and
#                       CHARTSHIP_KIND_NODE_IMAGE (its last two lines); non-zero on failure
#   stack_testcluster   scripts/testcluster up in a new directory; exports
#                       CHARTSHIP_TEST_KUBECONFIG
#   stack_tempdir VAR NAME  a temporary directory removed at exit, its path in VAR (not via
#                       $(…): the list of what to remove lives in this shell)

STACK_DIRS=()

stack_cleanup() {
	local d
	for d in "${STACK_DIRS[@]}"; do
		case $d in
			kind:*) scripts/kind-env down "${d#kind:}" || true ;;
			testcluster:*) scripts/testcluster down "${d#testcluster:}" || true ;;
		esac
		rm -rf "${d#*:}"
	done
}
trap stack_cleanup EXIT

stack_tempdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/chartship-$2.XXXXXX")
	STACK_DIRS+=("tmp:$d")
	printf -v "$1" '%s' "$d"
}

stack_kind() {
	local d lines
	d=$(mktemp -d "${TMPDIR:-/tmp}/chartship-kind.XXXXXX")
	STACK_DIRS+=("kind:$d")
	lines=$(scripts/kind-env up "$d" | tail -n 2) || return 1
	[[ $lines == DOCKER_HOST=*$'\n'CHARTSHIP_KIND_NODE_IMAGE=* ]] || return 1
	export "${lines%%$'\n'*}" "${lines##*$'\n'}"
}

stack_testcluster() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/chartship-testcluster.XXXXXX")
	STACK_DIRS+=("testcluster:$d")
	CHARTSHIP_TEST_KUBECONFIG=$(scripts/testcluster up "$d" | tail -n 1) || return 1
	export CHARTSHIP_TEST_KUBECONFIG
}
