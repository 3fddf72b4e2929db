# tests/e2e/rgw-lib.sh: a real S3 endpoint for the s3:// tests, sourced after
# lib.sh.  start_rgw starts a one-node Ceph cluster from Debian's packages
# (ceph-mon, ceph-osd with memstore, radosgw with the beast frontend) in
# $T/rgw on free loopback ports, makes a user with known keys, and leaves
# the three daemons in lib.sh's registry so that the exit trap stops them
# newest first: radosgw, then the OSD, then the mon (RGW hangs ~10 s when
# the OSD goes first).  The settings are the ones measured to work here
# (../shared/notes/ceph-rgw.md); each says why.
# shellcheck disable=SC3043 # local

# start_rgw: exports RGW_PORT RGW_ENDPOINT (127.0.0.1:PORT, plain HTTP)
# RGW_TLS_ENDPOINT (127.0.0.1:PORT, HTTPS with a certificate for 127.0.0.1
# and [*.]s3.localhost signed by the CA in $RGW_CA) RGW_TLS_PORT RGW_DIR RGW_ACCESS RGW_SECRET (the user's
# keys, also in $RGW_DIR/access and $RGW_DIR/secret, mode 0600) and
# RGW_CONF (for radosgw-admin -c).  The OSD keeps objects in RAM
# (memstore) and stops taking writes at 95% of RGW_MEMSTORE_BYTES (1 GiB).
# With RGW_DNS_NAME set (e.g. s3.localhost), RGW also serves bucket B as
# B.$RGW_DNS_NAME (virtual-host addressing; rgw_dns_name).
start_rgw() {
	local d mon_port rgw_port tls_port fsid uuid pid try=0
	for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
		command -v "$b" >/dev/null 2>&1 ||
			skip "needs $b (apt-get install ceph-mon ceph-osd" \
			    "radosgw ceph-common)"
	done
	need openssl
	d=$(_e2e_newdir rgw)
	mkdir "$d/mon" "$d/osd" "$d/run"
	_rgw_certs "$d"
	_e2e_pick_port
	mon_port=$_e2e_port
	fsid=$(cat /proc/sys/kernel/random/uuid)
	uuid=$(cat /proc/sys/kernel/random/uuid)
	_rgw_conf "$d" "$fsid" "$mon_port" 0
	monmaptool --create --fsid "$fsid" \
	    --addv a "[v2:127.0.0.1:$mon_port]" "$d/monmap" \
	    >"$d/setup.log" 2>&1 || _rgw_fail "$d" monmaptool
	ceph-mon -c "$d/ceph.conf" -i a --mkfs --monmap "$d/monmap" \
	    >>"$d/setup.log" 2>&1 || _rgw_fail "$d" "ceph-mon --mkfs"
	ceph-mon -c "$d/ceph.conf" -i a -f >"$d/mon.log" 2>&1 </dev/null &
	pid=$!
	_e2e_register rgw-mon "$pid" "$(id -un)" "$d"
	# `ceph osd new` answers once the mon has a quorum (of one).
	_e2e_await ceph-mon "$pid" "$d/mon.log" 30 \
	    timeout 10 ceph -c "$d/ceph.conf" osd new "$uuid" 0
	ceph-osd -c "$d/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" \
	    >>"$d/setup.log" 2>&1 || _rgw_fail "$d" "ceph-osd --mkfs"
	ceph-osd -c "$d/ceph.conf" -i 0 -f >"$d/osd.log" 2>&1 </dev/null &
	pid=$!
	_e2e_register rgw-osd "$pid" "$(id -un)" "$d"
	_e2e_await ceph-osd "$pid" "$d/osd.log" 30 _rgw_osd_up "$d"
	while :; do
		try=$((try + 1))
		_e2e_pick_port
		rgw_port=$_e2e_port
		_e2e_pick_port
		tls_port=$_e2e_port
		_rgw_conf "$d" "$fsid" "$mon_port" \
		    "$rgw_port ssl_endpoint=127.0.0.1:$tls_port ssl_certificate=$d/cert.pem ssl_private_key=$d/key.pem"
		radosgw -c "$d/ceph.conf" -n client.rgw -f \
		    >"$d/server.log" 2>&1 </dev/null &
		pid=$!
		_e2e_register rgw "$pid" "$(id -un)" "$d"
		_e2e_await radosgw "$pid" "$d/server.log" 60 \
		    curl -sf -o /dev/null "http://127.0.0.1:$rgw_port/" && break
		_e2e_unregister "$pid" "$d"
		_e2e_port_taken radosgw "$rgw_port" "$try"
	done
	RGW_ACCESS=COFFERTESTACCESS$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	RGW_SECRET=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	radosgw-admin -c "$d/ceph.conf" user create --uid=test \
	    --display-name=test --access-key="$RGW_ACCESS" \
	    --secret-key="$RGW_SECRET" >>"$d/setup.log" 2>&1 ||
		_rgw_fail "$d" "radosgw-admin user create"
	(umask 077 && printf '%s\n' "$RGW_ACCESS" >"$d/access" &&
	    printf '%s\n' "$RGW_SECRET" >"$d/secret")
	RGW_PORT=$rgw_port
	RGW_ENDPOINT=127.0.0.1:$rgw_port
	RGW_TLS_ENDPOINT=127.0.0.1:$tls_port
	RGW_TLS_PORT=$tls_port
	RGW_CA=$d/ca.pem
	RGW_DIR=$d
	RGW_CONF=$d/ceph.conf
	export RGW_PORT RGW_ENDPOINT RGW_TLS_ENDPOINT RGW_TLS_PORT RGW_CA RGW_DIR RGW_CONF \
	    RGW_ACCESS RGW_SECRET
}

# A private CA, and a certificate it signed for 127.0.0.1, s3.localhost
# and *.s3.localhost (virtual-host buckets over TLS).
_rgw_certs() {
	(
		cd "$1" &&
		    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout ca.key -out ca.pem -days 2 \
			-subj /CN=coffer-test-ca &&
		    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout key.pem -out cert.csr \
			-subj /CN=127.0.0.1 &&
		    printf 'subjectAltName=IP:127.0.0.1,DNS:s3.localhost,DNS:*.s3.localhost\n' >cert.ext &&
		    openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -out cert.pem -days 2 -extfile cert.ext
	) >>"$1/setup.log" 2>&1 || _rgw_fail "$1" "openssl (test certificates)"
}

_rgw_fail() { # DIR WHAT
	_e2e_failed=1
	{
		echo "FAIL: start_rgw: $2 failed"
		tail -n 25 "$1/setup.log"
	} >&2
	exit 1
}

_rgw_osd_up() {
	timeout 10 ceph -c "$1/ceph.conf" osd dump 2>/dev/null |
	    grep -q '^osd\.0 up'
}

# rgw_user UID: another user of the cluster; prints "ACCESS SECRET".
rgw_user() {
	local a s
	a=COFFER$1$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	s=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	radosgw-admin -c "$RGW_CONF" user create --uid="$1" \
	    --display-name="$1" --access-key="$a" --secret-key="$s" \
	    >>"$RGW_DIR/setup.log" 2>&1 || _rgw_fail "$RGW_DIR" "user $1"
	echo "$a $s"
}

_rgw_conf() { # DIR FSID MON_PORT RGW_PORT
	cat >"$1/ceph.conf" <<EOF
[global]
fsid = $2
mon host = [v2:127.0.0.1:$3]
# v2 messenger only, no cephx: a private cluster on loopback.
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
# Else radosgw waits 300 s for its mon config with auth none.
ms mon client mode = crc secure
client mount timeout = 30
run dir = $1/run
admin socket = $1/run/\$name.asok
log file = $1/\$name.log
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# RGW answers ~8.5 s later without it.
paxos propose interval = 0.1
# The mon writes /var/log/ceph/ceph.log otherwise; a fuller disk stops it.
mon cluster log to file = false
mon data avail warn = 2
mon data avail crit = 1
[mon.a]
mon data = $1/mon
[osd.0]
osd data = $1/osd
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-1073741824}
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$4
rgw thread pool size = 64
rgw data = $1/rgw-data
${RGW_DNS_NAME:+# Virtual-host addressing: BUCKET.\$RGW_DNS_NAME names a bucket.
rgw dns name = $RGW_DNS_NAME}
EOF
}
