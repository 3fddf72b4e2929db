#!/bin/sh
# Install the Debian packages coffer needs that are missing.
#   deps.sh build   what it takes to build ./coffer
#   deps.sh demo    that, plus the servers make demo starts (PostgreSQL, sshd)
#   deps.sh test    that, plus the real servers and tools the tests start
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu

build="gcc make pkg-config libarchive-dev libzstd-dev libssh2-1-dev libssl-dev
libinih-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev"
test="check openssh-server openssh-client postgresql mariadb-server
mariadb-client sqlite3 mandoc acl attr gcovr tar zstd procps iproute2
util-linux faketime socat debhelper lintian dpkg-dev git jq prometheus
systemd clang libclang-rt-14-dev chromium fonts-dejavu-core valgrind
ceph-mon ceph-osd radosgw ceph-common curl"
demo="postgresql openssh-server openssh-client procps"

case "${1:-build}" in
build) want=$build ;;
demo) want="$build $demo" ;;
test) want="$build $test" ;;
*) echo "usage: deps.sh build|demo|test" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "coffer: missing packages:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start the distribution's own servers: the tests
# start private ones on free ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q >/dev/null || apt-get update
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null ||
	apt-get install -y --no-install-recommends $missing
