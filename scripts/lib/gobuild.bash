# scripts/lib/gobuild.bash — shared by scripts/testcluster and scripts/kind-env (source it).
#
# Builds pinned third-party programs from the Go module proxy, each in a throwaway module
# under the cache directory (never chartship's go.mod), into a directory cached by version.
# Every builder takes the output directory first and skips what is already there, so two
# scripts asking for the same program at the same version share one build.
#
# Pinned versions, one place for both scripts:
K8S_VERSION=1.37.2      # k8s.io/kubernetes: the newest served release that still runs on cgroup v1
STAGING_VERSION=0.37.2  # its staging modules (k8s.io/api, k8s.io/client-go, ...)
ETCD_VERSION=3.7.0      # go.etcd.io/etcd/server/v3: what kubeadm v1.37 pins (3.7.0-0)
KWOK_VERSION=0.8.0      # sigs.k8s.io/kwok

CHARTSHIP_CACHE=${CHARTSHIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chartship}
GOBUILD_JOBS=${TESTCLUSTER_BUILD_JOBS:-${GOBUILD_JOBS:-2}}

gb_log() { echo "${GB_NAME:-build}: $*" >&2; }
gb_die() { gb_log "error: $*"; exit 1; }

# gb_env — the environment every build runs in: the machine's own Go, modules from the
# proxy, static binaries.
gb_env() {
	export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
}

# gb_modfield MODULE@VERSION FIELD — a field of `go mod download -json` (Dir, GoMod, ...),
# downloading the module into the module cache if need be.
gb_modfield() {
	(cd "$CHARTSHIP_CACHE" 2>/dev/null || cd /; GOFLAGS='' go mod download -json "$1") \
		| sed -n 's/^[[:space:]]*"'"$2"'": "\(.*\)",$/\1/p'
}
gb_moddir() { gb_modfield "$1" Dir; }

# gb_newmodule DIR NAME — a throwaway Go module.
gb_newmodule() {
	local dir=$1 name=$2
	mkdir -p "$dir"
	[[ -f $dir/go.mod ]] && return 0
	printf 'module chartship.local/build/%s\n\ngo 1.26\n' "$name" >"$dir/go.mod"
}

# gb_build OUTDIR LOG LDFLAGS TAGS VERSION PKG[:NAME]... — build each PKG (a main package
# at VERSION, resolved into the module in the current directory) into OUTDIR/NAME (default:
# the last path element), atomically; one go build per package, so packages they share
# compile once into the build cache.
gb_build() {
	local outdir=$1 logf=$2 ldflags=$3 tags=$4 version=$5; shift 5
	local spec pkg name start tmp
	for spec in "$@" ; do
		pkg=${spec%%:*}; name=${spec#*:}
		[[ $name == "$spec" ]] && name=${pkg##*/}
		[[ -x $outdir/$name ]] && continue
		start=$SECONDS tmp="$outdir/.$name.tmp.$$"
		gb_log "building $name from $pkg@$version (log: $logf)"
		go get "$pkg@$version" >>"$logf" 2>&1 || { tail -n 20 "$logf" >&2; gb_die "resolving $pkg@$version failed; full log: $logf"; }
		if ! nice -n 19 go build -p "$GOBUILD_JOBS" -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$tmp" "$pkg" >>"$logf" 2>&1 ; then
			rm -f "$tmp"
			tail -n 30 "$logf" >&2
			gb_die "building $name failed; full log: $logf"
		fi
		mv -f "$tmp" "$outdir/$name"
		gb_log "built $name in $((SECONDS - start))s"
	done
}

gb_k8s_ldflags() {
	local pkg flags="" minor=${K8S_VERSION#*.}
	minor=${minor%%.*}
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version ; do
		flags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=${K8S_VERSION%%.*} -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=chartship-build -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	echo "-s -w$flags"
}

# gb_kubernetes OUTDIR CMD... — k8s.io/kubernetes/cmd/CMD at K8S_VERSION. Upstream's replace
# list points the staging modules at ./staging/src/...; outside the kubernetes repository they
# are the published modules at the matching v0.X.Y.
gb_kubernetes() {
	local outdir=$1; shift
	local src=$CHARTSHIP_CACHE/src/kubernetes-$K8S_VERSION logf=$outdir/build.log gomod c pkgs=()
	for c in "$@" ; do pkgs+=("k8s.io/kubernetes/cmd/$c") ; done
	mkdir -p "$outdir"
	gb_env
	if [[ ! -f $src/go.mod ]] ; then
		gb_newmodule "$src.tmp" "kubernetes"
		gomod=$(gb_modfield "k8s.io/kubernetes@v$K8S_VERSION" GoMod)
		[[ -f $gomod ]] || gb_die "cannot download k8s.io/kubernetes@v$K8S_VERSION's go.mod"
		{
			echo
			echo "replace ("
			sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#\t\1 => \1 v'"$STAGING_VERSION"'#p' "$gomod"
			echo ")"
		} >>"$src.tmp/go.mod"
		rm -rf "$src"; mv "$src.tmp" "$src"
	fi
	( cd "$src" && gb_build "$outdir" "$logf" "$(gb_k8s_ldflags)" "" "v$K8S_VERSION" "${pkgs[@]}" )
}

# gb_module OUTDIR NAME MODULE@VERSION TAGS LDFLAGS PKG[:OUT]... — build PKGs of one module
# at one version.
gb_module() {
	local outdir=$1 name=$2 modver=$3 tags=$4 ldflags=$5; shift 5
	local src=$CHARTSHIP_CACHE/src/$name-${modver##*@} logf=$outdir/build.log
	mkdir -p "$outdir"
	gb_env
	gb_newmodule "$src" "$name"
	( cd "$src" && gb_build "$outdir" "$logf" "-s -w${ldflags:+ $ldflags}" "$tags" "${modver##*@}" "$@" )
}
