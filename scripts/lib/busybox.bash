# scripts/lib/busybox.bash — busybox_rootfs DIR: Debian's static busybox with its applets
# linked in DIR/bin, for the small images the kind node and the demo need (source it).
busybox_rootfs() {
	local dir=$1 a
	mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
	chmod 1777 "$dir/tmp"
	cp /bin/busybox "$dir/bin/busybox"
	for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$dir/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
	echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
}
