/*
 * Writes the seed corpora of tests/fuzz/corpus/: small valid inputs made
 * by the real encoders (and plaintexts of the fixture repository,
 * tests/fixtures/repo-v1), plus texts from the unit tests.  Run from the
 * top of the tree by `make fuzz-seeds`; the output is committed, so it
 * runs only when an encoder or a target's input layout changes.  Each
 * file is named by the SHA-256 of its bytes, as libFuzzer names them.
 *   gen_seeds CORPUS_DIR
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "fs/extract.h"
#include "fs/node.h"
#include "repo/idx.h"
#include "repo/key.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "repo/treecodec.h"
#include "seeds.h"
#include "xmalloc.h"

#define FIXTURE "tests/fixtures/repo-v1"

static const char *top;

static void
die(const char *what, const struct err *e)
{
	fprintf(stderr, "gen_seeds: %s: %s\n", what, e != NULL ? e->msg : "");
	exit(1);
}

/* corpus/<target>/<sha256 of the bytes>, with prefix bytes first. */
static void
seed2(const char *target, const void *pre, size_t prelen, const void *p,
    size_t n)
{
	uint8_t *buf = xmalloc(prelen + n + 1), h[CRYPTO_HASH_LEN];
	char dir[4096], path[4200], hex[2 * CRYPTO_HASH_LEN + 1];
	FILE *f;

	if (prelen > 0)
		memcpy(buf, pre, prelen);
	if (n > 0)
		memcpy(buf + prelen, p, n);
	snprintf(dir, sizeof(dir), "%s/%s", top, target);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		die(dir, NULL);
	crypto_sha256(buf, prelen + n, h);
	crypto_hex_encode(h, sizeof(h), hex);
	snprintf(path, sizeof(path), "%s/%s", dir, hex);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(buf, 1, prelen + n, f) != prelen + n || fclose(f) != 0)
		die(path, NULL);
	free(buf);
}

static void
seed(const char *target, const void *p, size_t n)
{
	seed2(target, NULL, 0, p, n);
}

static void
seeds(const char *target, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		seed(target, v[i], strlen(v[i]));
}

static void
seed_file(const char *target, const char *path)
{
	char buf[65536];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		die(path, NULL);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	seed(target, buf, n);
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
texts(void)
{
	static const char *const conninfo[] = { "gas", "dbname=gas",
		"  host=/run/pg\tuser = backup dbname =\n'my db'  ",
		"dbname='it\\'s \\\\x' port=5433", "dbname=a\\ b",
		"postgres://db.example:5433/gas",
		"postgresql://backup@h/gas?sslmode=require&connect_timeout=5",
		"postgresql://h1:1,h2:2/gas", "postgresql://[::1]:5432/gas",
		"postgresql://%2Frun%2Fpg/my%20db",
		"postgresql://h/gas?ssl=true", "postgresql://u%40x@h/g",
		"host=h password=secret", "postgresql://u:pw@h/g" };
	static const char *const url[] = { "sftp://backup@nas.example/srv/c",
		"sftp://h:2222/r", "sftp://[::1]:22/repo",
		"sftp://u@10.0.0.1/a/b c", "sftp://u:pw@h/r" };
	static const char *const url_s3[] = { "s3://127.0.0.1:7480/coffer/r",
		"s3://AKIAEXAMPLE@s3.example.org/bucket-1/a/b",
		"s3://[::1]:9000/bkt", "s3://k:secret@h/bkt" };
	/* As RGW answers ListObjectsV2 (one page, then a last one). */
	static const char *const s3_xml[] = {
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
		"2006-03-01/\"><Name>coffer</Name><Prefix>r/data/</Prefix>"
		"<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36"
		"Hy4vbOwM=</NextContinuationToken><Contents><Key>r/data/ab/"
		"ab12</Key><LastModified>2026-12-07T13:00:00.000Z"
		"</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328"
		"&quot;</ETag><Size>16777216</Size><StorageClass>STANDARD"
		"</StorageClass></Contents><Contents><Key>r/data/cd/&lt;x&amp;"
		"</Key><Size>0</Size></Contents><KeyCount>2</KeyCount>"
		"</ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents>"
		"<Key>r/config</Key><LastModified>2026-01-01T00:00:00Z"
		"</LastModified><Size>155</Size></Contents></ListBucketResult>",
	};
	static const char *const schedule[] = { "hourly", "daily",
		"daily 02:30", "weekly", "monthly", "yearly", "Mon..Fri 22:00",
		"Fri..Mon 01:00", "Mon,Wed 01:00", "@midnight", "@annually",
		"*/15 * * * *", "0 3 * * 1-5", "30 2 1,15 * *", "0 0 29 2 *",
		"0 12 * Jan-Mar/2 sun", "5 4 13 * 5", "0 0 31 * *",
		"0 0 * * 7" };
	static const char *const value[] = { "\x00yes", "\x00Off",
		"\x01-9223372036854775808", "\x01+42",
		"\x02"
		"64K",
		"\x02"
		"2GiB",
		"\x02"
		"512",
		"\x03"
		"1h30m",
		"\x03"
		"7d",
		"\x03"
		"90",
		"\x04"
		"0.5%",
		"\x04"
		"100%",
		"\x05/srv/a, \"/srv/My Files\" /b" };
	static const char *const kh[] = {
		"h.example ssh-ed25519 "
		"AAAAC3NzaC1lZDI1NTE5AAAAIIOjTc2gkghfQ9xJJ"
		"biCa7h9wbFG6AsC1CfrrSTE53eH\n",
		"# comment\n*.example,!bad.example ssh-ed25519 AAAAC3NzaC1lZDI1"
		"NTE5AAAAIIs6oS49MqihVkPT+7MJ/UOIZHWYEoUZ/EM0ZV5tsUYu\n",
		"@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIOjTc2gkghfQ9x"
		"JJbiCa7h9wbFG6AsC1CfrrSTE53eH\n",
		"@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"
		"IIs6oS49MqihVkPT+7MJ/UOIZHWYEoUZ/EM0ZV5tsUYu\n",
		"|1|3tO5d9y343dEMMQBV17M1Tc7GQc=|EoDtXIFVOTEeiKsUwXxBLNEk+Gg= "
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIOjTc2gkghfQ9xJJbiCa7h9wb"
		"FG6AsC1CfrrSTE53eH\n",
		"|1|AAECAwQFBgcICQoLDA0ODxAREhM=|bFDVYqbsfLlUB0fPAZemUYx8Gnc= "
		"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdH"
		"AyNTYAAABBBFu0YWJZS7SLtKgXhliMQvQB7pk1yOPZf8sCuSaiOGfmkOX688zW"
		"kbGcacpcPB1aMZkTM38eJ+HGzXr9vyxboyc=\n",
		"[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIs6oS49M"
		"qihVkPT+7MJ/UOIZHWYEoUZ/EM0ZV5tsUYu\n"
	};
	static const char *const lock[] = {
		"{\"version\": 1, \"mode\": \"shared\", \"hostname\": \"db1\", "
		"\"pid\": 4242, \"pid_start\": 159956, \"pid_ns\": "
		"\"pid:[4026531836]\", \"boot_id\": "
		"\"aedbea3d-fd02-4746-8bc6-8d8f22583de5\", \"username\": "
		"\"root\", \"command\": \"snapshot\", \"created\": 1714530600, "
		"\"refreshed\": 1714531200, \"stale_after\": 1800}\n",
		"{\"version\":1,\"mode\":\"exclusive\",\"hostname\":"
		"\"fuzzhost\","
		"\"pid\":1,\"refreshed\":1799999000,\"stale_after\":1800}",
		"{\"version\":2,\"mode\":\"other\",\"hostname\":\"fuzzhost\","
		"\"pid\":999999,\"pid_start\":5,\"refreshed\":1800000000,"
		"\"created\":0,\"stale_after\":4294967295}"
	};
	static const char *const config[] = {
		"[global]\nlog = stderr\n\n[repository main]\n"
		"path = /srv/coffer\npassword_file = /etc/coffer/key\n",
		"[repository r]\nurl = sftp://backup@[::1]:2222/srv/c\n"
		"password_file = /etc/coffer/pw\nio_timeout = 1m30s\n"
		"limit_upload = 512\n[source etc]\ntype = files\n"
		"paths = /etc \"/srv/My Files\"\n[source db]\n"
		"type = postgres\ndatabase = gas\n[job nightly]\n"
		"repository = r\nsources = etc, db\n"
		"schedule = 0 3 * * 1-5\ntimezone = Europe/Paris\n"
		"keep_daily = 7\ncheck = 0.5%\ntimeout = 6h\n"
	};
	uint8_t chunker[4 + 3000];

	seeds("conninfo", conninfo, NELEM(conninfo));
	seeds("url", url, NELEM(url));
	seeds("url", url_s3, NELEM(url_s3));
	seeds("s3_xml", s3_xml, NELEM(s3_xml));
	seeds("schedule", schedule, NELEM(schedule));
	for (size_t i = 0; i < NELEM(value); i++)
		seed("value", value[i], 1 + strlen(value[i] + 1));
	seeds("known_hosts", kh, NELEM(kh));
	seed("known_hosts", kh[0], strlen(kh[0]) - 40);
	seeds("lock", lock, NELEM(lock));
	seeds("config", config, NELEM(config));
	seed_file("config", "etc/coffer.conf.sample");
	chunker[0] = 0x04;
	chunker[1] = 0x80;
	chunker[2] = 0x20;
	chunker[3] = 7;
	for (size_t i = 4; i < sizeof(chunker); i++)
		chunker[i] = (uint8_t)(i * 2654435761u >> 13);
	seed("chunker", chunker, sizeof(chunker));
	chunker[0] = 0x0f;
	chunker[3] = 0;
	memset(chunker + 4, 'a', 1000);
	seed("chunker", chunker, sizeof(chunker));
}

static void
fill_id(uint8_t id[IDX_ID_LEN], int k)
{
	for (int i = 0; i < IDX_ID_LEN; i++)
		id[i] = (uint8_t)(k * 31 + i * 7);
}

static void
tree_seed(void)
{
	static const uint8_t bin[] = { 0, 1, 0xff };
	struct fs_node v[4];
	uint8_t id[FS_ID_LEN], *out;
	size_t len;

	memset(v, 0, sizeof(v));
	v[0].name = xstrdup("file");
	v[0].type = FS_FILE;
	v[0].mode = 0640;
	v[0].uid = 1000;
	v[0].user = xstrdup("alice");
	v[0].mtime = (struct fs_time){ 1700000000, 123456789 };
	v[0].size = 3 << 20;
	v[0].nlink = 1;
	v[0].acl_access = xstrdup("user::rw-\ngroup::r--\nother::---");
	fs_node_add_xattr(&v[0], "user.bin", bin, sizeof(bin));
	fs_node_add_extent(&v[0], 0, 4096);
	fs_node_add_extent(&v[0], 1 << 20, 8192);
	fill_id(id, 1);
	fs_node_add_chunk(&v[0], id);
	v[1].name = xstrdup("dir");
	v[1].type = FS_DIR;
	v[1].mode = 01777;
	v[1].flags = FS_NODE_HAS_SUBTREE;
	fill_id(v[1].subtree, 2);
	v[2].name = xstrdup("link");
	v[2].type = FS_SYMLINK;
	v[2].symlink = xstrdup("../etc/passwd");
	v[3].name = xstrdup("null");
	v[3].type = FS_CHR;
	v[3].rdev_major = 1;
	v[3].rdev_minor = 3;
	treecodec_encode(v, 4, &out, &len);
	seed("treecodec", out, len);
	free(out);
	treecodec_encode(v + 2, 1, &out, &len);
	seed("treecodec", out, len);
	free(out);
	for (int i = 0; i < 4; i++)
		fs_node_clear(&v[i]);
}

/* One 512-byte ustar header (name, type, link, size) into h. */
static void
ustar(uint8_t h[512], const char *name, char type, const char *link,
    size_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 1700000000);
	memset(h + 148, ' ', 8);
	h[156] = (uint8_t)type;
	snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257,
	    "ustar\0"
	    "00",
	    8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/*
 * from_tar: a pax stream written by coffer's own tar writer (a file with
 * an xattr, a sparse file, a directory, a symlink, hard links, a FIFO),
 * and ustar streams with the names snapshot --from-tar must refuse or
 * clean ('..', absolute paths, a file through a symlink, a duplicate, a
 * hard link out).
 */
static void
tar_seeds(void)
{
	static const struct {
		const char *name;
		char type;
		const char *link;
	} bad[] = { { "../escape", '0', "" }, { "/abs/x", '0', "" },
		{ "a/../../b", '0', "" }, { "./ok", '0', "" },
		{ "lnk", '2', "/etc" }, { "lnk/through", '0', "" },
		{ "ok", '0', "" }, { "hl", '1', "../../etc/passwd" },
		{ "hl2", '1', "ok" }, { "d/", '5', "" }, { "d", '2', "/" },
		{ "d/after", '0', "" } };
	char path[] = "/tmp/gen_seeds.XXXXXX";
	struct fs_extract *x;
	struct fs_node n[6];
	struct err e;
	uint8_t *buf, h[512], data[512];
	long len = 0;
	FILE *f;
	int fd;

	if ((fd = mkstemp(path)) == -1)
		die("mkstemp", NULL);
	memset(n, 0, sizeof(n));
	for (int i = 0; i < 6; i++) {
		n[i].mode = 0644;
		n[i].mtime = (struct fs_time){ 1700000000, 123456789 };
		n[i].nlink = 1;
		n[i].type = FS_FILE;
	}
	n[0].name = xstrdup("dir");
	n[0].type = FS_DIR;
	n[1].name = xstrdup("file");
	n[1].size = 5;
	fs_node_add_xattr(&n[1], "user.comment", "hi", 2);
	n[2].name = xstrdup("sparse");
	n[2].size = 1 << 20;
	fs_node_add_extent(&n[2], 4096, 5);
	n[3].name = xstrdup("link");
	n[3].type = FS_SYMLINK;
	n[3].symlink = xstrdup("../file");
	for (int i = 4; i < 6; i++) {
		n[i].name = xstrdup(i == 4 ? "h1" : "h2");
		n[i].size = 5;
		n[i].nlink = 2;
		n[i].dev = 1;
		n[i].ino = 9;
	}
	if (fs_tar_open(fd, 0, &x, &e) == -1)
		die("tar", &e);
	for (int i = 0; i < 6; i++) {
		int r = fs_extract_begin(x, i == 0 ? NULL : "dir", &n[i], &e);

		if (r == -1)
			die("tar entry", &e);
		if (r == 1 &&
		    fs_extract_write(x, "hello", 5, i == 2 ? 4096 : 0, &e) ==
		        -1)
			die("tar data", &e);
		if (fs_extract_end(x, &e) == -1)
			die("tar end", &e);
	}
	if (fs_extract_close(x, &e) == -1)
		die("tar close", &e);
	for (int i = 0; i < 6; i++)
		fs_node_clear(&n[i]);
	if ((f = fdopen(fd, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) == -1)
		die(path, NULL);
	buf = xmalloc((size_t)len);
	if (fread(buf, 1, (size_t)len, f) != (size_t)len)
		die(path, NULL);
	seed("from_tar", buf, (size_t)len);
	free(buf);
	fclose(f);
	unlink(path);

	/* The hostile names, one stream. */
	buf = xmalloc(NELEM(bad) * 1024 + 1024);
	len = 0;
	memset(data, 0, sizeof(data));
	memcpy(data, "data\n", 5);
	for (size_t i = 0; i < NELEM(bad); i++) {
		size_t sz = bad[i].type == '0' ? 5 : 0;

		ustar(h, bad[i].name, bad[i].type, bad[i].link, sz);
		memcpy(buf + len, h, 512);
		len += 512;
		if (sz > 0) {
			memcpy(buf + len, data, 512);
			len += 512;
		}
	}
	memset(buf + len, 0, 1024);
	seed("from_tar", buf, (size_t)len + 1024);
	free(buf);
}

static void
idx_pack_seeds(void)
{
	struct idx *x = idx_new();
	struct idx_entry ent;
	struct pack_writer *w = pack_writer_new();
	uint8_t pid[IDX_ID_LEN], *out, blob[200], le[8], *pack;
	size_t len, plen;
	struct err e;

	memset(blob, 0xab, sizeof(blob));
	for (int p = 0; p < 2; p++) {
		fill_id(pid, 100 + p);
		memset(&ent, 0, sizeof(ent));
		ent.pack = idx_pack_add(x, pid);
		for (int b = 0; b < 3; b++) {
			fill_id(ent.id, p * 10 + b);
			ent.offset = (uint32_t)b * 100;
			ent.length = 100;
			ent.raw_length = 60;
			ent.type = b == 2 ? IDX_BLOB_TREE : IDX_BLOB_DATA;
			idx_add(x, &ent);
		}
	}
	idx_encode(x, 0, idx_pack_count(x), &out, &len);
	seed("idx", out, len);
	free(out);
	idx_encode(x, 0, 0, &out, &len);
	seed("idx", out, len);
	free(out);
	idx_free(x);

	/* pack: u64 LE pack (or data) length, the trailer, then a header. */
	for (int b = 0; b < 3; b++) {
		fill_id(pid, b);
		if (pack_writer_add(w, pid, (uint8_t)(b == 2), blob,
		        (size_t)(50 + b * 20), 30, &e) == -1)
			die("pack_writer_add", &e);
	}
	pack_writer_header(w, &out, &len);
	/* A pack whose sealed header is the plaintext: the layout is what
	 * counts here. */
	if (pack_writer_finish(w, out, len, &pack, &plen, NULL, &e) == -1)
		die("pack_writer_finish", &e);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)plen >> (8 * i));
	/* The trailer parse reads the 8 bytes after the length; the header
	 * decode reads from there on: two seeds, one for each. */
	seed2("pack", le, 8, pack + plen - PACK_TRAILER_LEN, PACK_TRAILER_LEN);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)(50 + 70 + 90) >> (8 * i));
	seed2("pack", le, 8, out, len);
	free(out);
	free(pack);
	pack_writer_free(w);
}

static void
key_seeds(void)
{
	struct key_master *m;
	struct key_file_meta meta = { 1700000000, "host", "user" };
	char *json;
	size_t len;
	struct err e;

	setenv(KEY_TEST_WEAK_ENV, "1", 1);
	if ((m = key_master_from_secret((const uint8_t *)SEED_MASTER_SECRET,
	         &e)) == NULL)
		die("key_master_from_secret", &e);
	if (key_file_create(m, SEED_MACHINE_KEY, strlen(SEED_MACHINE_KEY),
	        KEY_KIND_MACHINE, NULL, &meta, &json, &len, &e) == -1)
		die("key_file_create", &e);
	seed("key", json, len);
	free(json);
	if (key_file_create(m, SEED_PASSPHRASE, strlen(SEED_PASSPHRASE),
	        KEY_KIND_PASSPHRASE, &key_scrypt_test_weak, &meta, &json, &len,
	        &e) == -1)
		die("key_file_create", &e);
	seed("key", json, len);
	free(json);
	key_master_free(m);
}

/* Plaintexts of the fixture repository: the key holder's view. */
static int
collect(void *arg, const char *name, uint64_t size)
{
	char ***v = arg;
	size_t n = 0;

	(void)size;
	while ((*v) != NULL && (*v)[n] != NULL)
		n++;
	*v = xreallocarray(*v, n + 2, sizeof(**v));
	(*v)[n] = xstrdup(name);
	(*v)[n + 1] = NULL;
	return (0);
}

static void
fixture_seeds(void)
{
	static const uint8_t sel[] = { 0, 1, 2, 3 };
	char key[KEY_MACHINE_HEXLEN + 1], **names = NULL;
	struct manifest m;
	struct repo *r;
	uint8_t *p;
	size_t n;
	struct err e;
	FILE *f;

	if ((f = fopen(FIXTURE "/machine.key", "r")) == NULL ||
	    fread(key, 1, KEY_MACHINE_HEXLEN, f) != KEY_MACHINE_HEXLEN)
		die(FIXTURE "/machine.key", NULL);
	fclose(f);
	key[KEY_MACHINE_HEXLEN] = '\0';
	if (repo_open(FIXTURE "/repo", key, strlen(key), &r, &e) == -1)
		die("open the fixture", &e);
	/* The config's plaintext is not reachable from outside repo.c:
	 * write the one FORMAT.md documents, with the fixture's values. */
	{
		const struct chunker_params *cp = repo_chunker_params(r);
		char cfg[512];

		snprintf(cfg, sizeof(cfg),
		    "{\"chunker\":{\"avg\":%u,\"max\":%u,\"min\":%u,"
		    "\"norm\":%u},\"compression\":3,\"id\":\"%s\","
		    "\"pack_size\":1048576,\"version\":1}",
		    cp->avg_size, cp->max_size, cp->min_size, cp->norm_level,
		    repo_id(r));
		seed2("repo", &sel[0], 1, cfg, strlen(cfg));
	}
	if (stor_list(repo_store(r), "index", collect, &names, &e) == -1)
		die("list", &e);
	for (size_t i = 0; names[i] != NULL; i++) {
		if (repo_file_get(r, "index", names[i] + strlen("index/"), &p,
		        &n, &e) == -1)
			die(names[i], &e);
		seed2("repo", &sel[1], 1, p, n);
		seed("idx", p, n);
		free(p);
		free(names[i]);
	}
	free(names);
	names = NULL;
	if (stor_list(repo_store(r), "snapshots", collect, &names, &e) == -1)
		die("list", &e);
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *id = names[i] + strlen("snapshots/");

		if (repo_file_get(r, "snapshots", id, &p, &n, &e) == -1)
			die(names[i], &e);
		seed2("repo", &sel[2], 1, p, n);
		seed("manifest", p, n);
		free(p);
		if (manifest_load(r, id, &m, &e) == -1)
			die(names[i], &e);
		if (repo_blob_get(r, m.tree, IDX_BLOB_TREE, &p, &n, &e) == -1)
			die("root tree", &e);
		seed2("repo", &sel[3], 1, p, n);
		seed("treecodec", p, n);
		free(p);
		manifest_clear(&m);
		free(names[i]);
	}
	free(names);
	repo_close(r);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds CORPUS_DIR\n");
		return (2);
	}
	top = argv[1];
	if (mkdir(top, 0755) == -1 && errno != EEXIST)
		die(top, NULL);
	texts();
	tree_seed();
	tar_seeds();
	idx_pack_seeds();
	key_seeds();
	fixture_seeds();
	return (0);
}
