# scripts/lib/apt.bash — apt_install PACKAGE...: Debian packages a script needs (source it
# after gobuild.bash; the log is GB_NAME's). `apt-get update` runs once a run: the scripts a
# script starts (scripts/test → kind-env, testcluster) inherit CHARTSHIP_APT_UPDATED.
apt_install() {
	command -v apt-get >/dev/null || gb_die "missing $*; install them"
	gb_log "installing $* from Debian"
	if [[ -z ${CHARTSHIP_APT_UPDATED:-} ]]; then
		apt-get update -qq >/dev/null || gb_die "apt-get update failed"
		export CHARTSHIP_APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
		|| gb_die "apt-get install $* failed"
}
