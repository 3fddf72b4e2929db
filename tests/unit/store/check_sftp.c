/*
 * The sftp backend's pieces that need no server: URL parsing, OpenSSH
 * fingerprints, and known_hosts (host-key method choice, OpenSSH's host
 * patterns, hashed names, the port rule, the verdicts on a key: trusted,
 * unknown, revoked, changed, other types only, @cert-authority only;
 * recording a new key).  The rest is tests/e2e/3[0-4]-sftp*.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <libssh2.h>

#include "crypto.h"
#include "store/store_impl.h"

/* ssh-keygen -t ed25519; ssh-keygen -lf shows SHA256:sybgMMNl... */
#define ED_B64                                                                 \
	"AAAAC3NzaC1lZDI1NTE5AAAAIIOjTc2gkghfQ9xJJbiCa7h9wbFG6AsC1CfrrSTE53eH"
#define ED_FP "SHA256:sybgMMNlOWqteGrNGCFSR07csHsmcurC1MIWsKgFrkg"
#define EC_LINE                                                                \
	"ecdsa-sha2-nistp256 "                                                 \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFu0YWJZS7SLtKgX" \
	"hliMQvQB7pk1yOPZf8sCuSaiOGfmkOX688zWkbGcacpcPB1aMZkTM38eJ+HGzXr9vyxb" \
	"oyc="
/* Another ed25519 key, B. */
#define ED2_B64                                                                \
	"AAAAC3NzaC1lZDI1NTE5AAAAIIs6oS49MqihVkPT+7MJ/UOIZHWYEoUZ/EM0ZV5tsUYu"
/* "[127.0.0.1]:2222", hashed by ssh-keygen -H. */
#define HASHED_LOCAL_2222                                                      \
	"|1|3tO5d9y343dEMMQBV17M1Tc7GQc=|EoDtXIFVOTEeiKsUwXxBLNEk+Gg="
/* "example.org", hashed as ssh-keygen -H does (salt 00 01 .. 13). */
#define HASHED_EXAMPLE_ORG                                                     \
	"|1|AAECAwQFBgcICQoLDA0ODxAREhM=|bFDVYqbsfLlUB0fPAZemUYx8Gnc="

static char dir[64];

static void
setup(void)
{
	strcpy(dir, "/tmp/coffer-sftp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_url)
{
	struct stor_sftp_target t;
	struct stor_opts o;
	struct err e;

	ck_assert_int_eq(
	    stor_sftp_parse_url("sftp://backup@dr.example.net:2222/srv/coffer/",
	        NULL, &t, &e),
	    0);
	ck_assert_str_eq(t.user, "backup");
	ck_assert_str_eq(t.host, "dr.example.net");
	ck_assert_int_eq(t.port, 2222);
	ck_assert_str_eq(t.root, "/srv/coffer");
	ck_assert_str_eq(t.hostport, "[dr.example.net]:2222");

	/* Port 22 is plain in known_hosts; "/~/" is the login dir. */
	ck_assert_int_eq(stor_sftp_parse_url("sftp://u@h/~/rel/dir", NULL, &t,
	                     &e),
	    0);
	ck_assert_int_eq(t.port, 22);
	ck_assert_str_eq(t.hostport, "h");
	ck_assert_str_eq(t.root, "rel/dir");
	ck_assert_int_eq(stor_sftp_parse_url("sftp://u@h/~", NULL, &t, &e), 0);
	ck_assert_str_eq(t.root, "");
	ck_assert_int_eq(stor_sftp_parse_url("sftp://u@h/", NULL, &t, &e) ==
	            -1 ||
	        strcmp(t.root, "/") == 0,
	    1);

	/* Options win over the URL; no user at all: the login name. */
	memset(&o, 0, sizeof(o));
	o.user = "other";
	o.port = 2200;
	ck_assert_int_eq(stor_sftp_parse_url("sftp://u@h:23/x", &o, &t, &e), 0);
	ck_assert_str_eq(t.user, "other");
	ck_assert_int_eq(t.port, 2200);
	ck_assert_int_eq(stor_sftp_parse_url("sftp://h/x", NULL, &t, &e), 0);
	ck_assert_str_ne(t.user, "");

	ck_assert_int_eq(stor_sftp_parse_url("sftp://[::1]:23/x", NULL, &t, &e),
	    0);
	ck_assert_str_eq(t.host, "::1");
	ck_assert_str_eq(t.hostport, "[::1]:23");

	ck_assert_int_eq(stor_sftp_parse_url("sftp://h", NULL, &t, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(stor_sftp_parse_url("sftp://u:pw@h/x", NULL, &t, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "password"));
	ck_assert_int_eq(stor_sftp_parse_url("sftp://h:0/x", NULL, &t, &e), -1);
}
END_TEST

START_TEST(test_fingerprint)
{
	uint8_t blob[256], h[CRYPTO_HASH_LEN], zero[32];
	char fp[STOR_SFTP_FP_LEN];
	size_t n;
	struct err e;

	ck_assert_int_eq(crypto_b64_decode(ED_B64, strlen(ED_B64), blob,
	                     sizeof(blob), &n, &e),
	    0);
	crypto_sha256(blob, n, h);
	stor_sftp_fingerprint(h, fp, sizeof(fp));
	ck_assert_str_eq(fp, ED_FP);
	for (size_t i = 0; i < 32; i++)
		zero[i] = (uint8_t)i;
	stor_sftp_fingerprint(zero, fp, sizeof(fp));
	ck_assert_str_eq(fp,
	    "SHA256:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
}
END_TEST

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_known_hosts_methods)
{
	char kh[128], m[256];
	struct err e;

	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	/* Missing file: nothing known. */
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "127.0.0.1", 2222, m,
	                     sizeof(m), &e),
	    0);
	ck_assert_str_eq(m, "");
	/* Lines coffer cannot use are skipped, not fatal. */
	write_file(kh,
	    "# a comment\n"
	    "@cert-authority *.example.org ssh-ed25519 " ED_B64 "\n"
	    "sk.example sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5"
	    "QG9wZW5zc2guY29tAAAAIIOjTc2gkghfQ9xJJbiCa7h9wbFG6AsC1CfrrSTE53eH"
	    "AAAABHNzaDo=\n"
	    "not a known_hosts line\n"
	    "@revoked revoked.example ssh-ed25519 " ED2_B64 "\n"
	    "revoked.example ssh-ed25519 " ED2_B64 "\n"
	    "[127.0.0.1]:2222 ssh-ed25519 " ED_B64 "\n"
	    "[127.0.0.1]:2222 " EC_LINE "\n"
	    "other.example ssh-ed25519 " ED_B64 "\n" HASHED_EXAMPLE_ORG
	    " " EC_LINE "\n");
	/* Both types for [127.0.0.1]:2222, strongest first. */
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "127.0.0.1", 2222, m,
	                     sizeof(m), &e),
	    0);
	ck_assert_str_eq(m, "ssh-ed25519,ecdsa-sha2-nistp256");
	/* Another port is another host. */
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "127.0.0.1", 22, m, sizeof(m),
	                     &e),
	    0);
	ck_assert_str_eq(m, "");
	/* A hashed name. */
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "example.org", 22, m,
	                     sizeof(m), &e),
	    0);
	ck_assert_str_eq(m, "ecdsa-sha2-nistp256");
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "example.com", 22, m,
	                     sizeof(m), &e),
	    0);
	ck_assert_str_eq(m, "");
	/* A revoked key is no key to ask for. */
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "revoked.example", 22, m,
	                     sizeof(m), &e),
	    0);
	ck_assert_str_eq(m, "");
}
END_TEST

START_TEST(test_known_hosts_record)
{
	char kh[128], m[256], line[512];
	uint8_t blob[256];
	size_t n;
	struct stat sb;
	struct err e;
	FILE *f;

	ck_assert_int_eq(crypto_b64_decode(ED_B64, strlen(ED_B64), blob,
	                     sizeof(blob), &n, &e),
	    0);
	/* A missing file (and directory) is made 0600. */
	snprintf(kh, sizeof(kh), "%s/ssh/known_hosts", dir);
	ck_assert_int_eq(stor_sftp_kh_record(kh, "127.0.0.1", 2222,
	                     (const char *)blob, n,
	                     LIBSSH2_HOSTKEY_TYPE_ED25519, &e),
	    0);
	ck_assert_int_eq(stat(kh, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "127.0.0.1", 2222, m,
	                     sizeof(m), &e),
	    0);
	ck_assert_str_eq(m, "ssh-ed25519");
	f = fopen(kh, "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "[127.0.0.1]:2222 ssh-ed25519 " ED_B64 "\n");

	/* Appended after a last line that lacks its newline. */
	snprintf(kh, sizeof(kh), "%s/kh2", dir);
	write_file(kh, "other.example " EC_LINE);
	ck_assert_int_eq(stor_sftp_kh_record(kh, "h.example", 22,
	                     (const char *)blob, n,
	                     LIBSSH2_HOSTKEY_TYPE_ED25519, &e),
	    0);
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "h.example", 22, m, sizeof(m),
	                     &e),
	    0);
	ck_assert_str_eq(m, "ssh-ed25519");
	ck_assert_int_eq(stor_sftp_kh_methods(kh, "other.example", 22, m,
	                     sizeof(m), &e),
	    0);
	ck_assert_str_eq(m, "ecdsa-sha2-nistp256");
}
END_TEST

/* The methods known_hosts text kh holds for host:port. */
static const char *
methods(const char *text, const char *host, int port)
{
	static char m[256];
	char kh[128];
	struct err e;

	snprintf(kh, sizeof(kh), "%s/kh-methods", dir);
	write_file(kh, text);
	ck_assert_int_eq(stor_sftp_kh_methods(kh, host, port, m, sizeof(m), &e),
	    0);
	return (m);
}

#define ED_KEY " ssh-ed25519 " ED_B64 "\n"

/* OpenSSH's host patterns (ssh_config(5) PATTERNS) and port rule. */
START_TEST(test_known_hosts_patterns)
{
	/* A wildcard names the hosts it matches, on port 22 only. */
	ck_assert_str_eq(methods("*.example.org" ED_KEY, "a.example.org", 22),
	    "ssh-ed25519");
	ck_assert_str_eq(methods("*.example.org" ED_KEY, "example.org", 22),
	    "");
	ck_assert_str_eq(methods("*.example.org" ED_KEY, "a.example.org", 2222),
	    "");
	ck_assert_str_eq(methods("[*.example.org]:*" ED_KEY, "a.example.org",
	                     2222),
	    "ssh-ed25519");
	ck_assert_str_eq(methods("*" ED_KEY, "127.0.0.1", 2222), "ssh-ed25519");
	/* A plain name is port 22 only: [host]:port for the others. */
	ck_assert_str_eq(methods("h.example" ED_KEY, "h.example", 2222), "");
	ck_assert_str_eq(methods("h.example" ED_KEY, "h.example", 22),
	    "ssh-ed25519");
	ck_assert_str_eq(methods("[h.example]:2222" ED_KEY, "h.example", 22),
	    "");
	ck_assert_str_eq(methods("[h.example]:2222" ED_KEY, "h.example", 2222),
	    "ssh-ed25519");
	/* '?' is one character; names are not case-sensitive. */
	ck_assert_str_eq(methods("host?.Example" ED_KEY, "HOST1.example", 22),
	    "ssh-ed25519");
	ck_assert_str_eq(methods("host?.example" ED_KEY, "host12.example", 22),
	    "");
	/* A comma list; a negated pattern that matches voids the line. */
	ck_assert_str_eq(methods("a.example,*.test" ED_KEY, "b.test", 22),
	    "ssh-ed25519");
	ck_assert_str_eq(methods("!bad.test,*.test" ED_KEY, "bad.test", 22),
	    "");
	ck_assert_str_eq(methods("!bad.test,*.test" ED_KEY, "good.test", 22),
	    "ssh-ed25519");
	ck_assert_str_eq(methods("!bad.test" ED_KEY, "good.test", 22), "");
	/* Hashed names: exactly the name, port included. */
	ck_assert_str_eq(methods(HASHED_LOCAL_2222 ED_KEY, "127.0.0.1", 2222),
	    "ssh-ed25519");
	ck_assert_str_eq(methods(HASHED_LOCAL_2222 ED_KEY, "127.0.0.1", 22),
	    "");
	/* A key revoked anywhere is not asked for. */
	ck_assert_str_eq(methods("*" ED_KEY "@revoked nowhere.example" ED_KEY,
	                     "h.example", 22),
	    "");
}
END_TEST

/* What known_hosts text says of key (base64) offered by host:port. */
static int
verify(const char *text, const char *host, int port, const char *b64,
    struct err *e)
{
	uint8_t blob[256];
	char kh[128];
	size_t n;

	snprintf(kh, sizeof(kh), "%s/kh-verify", dir);
	write_file(kh, text);
	ck_assert_int_eq(crypto_b64_decode(b64, strlen(b64), blob, sizeof(blob),
	                     &n, e),
	    0);
	memset(e, 0, sizeof(*e));
	return (stor_sftp_kh_verify(kh, host, port, blob, n, e));
}

#define ED2_KEY " ssh-ed25519 " ED2_B64 "\n"

#define ck_refused(text, host, port, key, what)                                \
	do {                                                                   \
		struct err e_;                                                 \
                                                                               \
		ck_assert_int_eq(verify((text), (host), (port), (key), &e_),   \
		    -1);                                                       \
		ck_assert_int_eq(e_.class, ERR_HOSTKEY);                       \
		ck_assert_msg(strstr(e_.msg, (what)) != NULL,                  \
		    "'%s' not in: %s", (what), e_.msg);                        \
	} while (0)

/*
 * The verdicts: trusted, no entry (the only case --accept-new-host-key
 * may record), and the refusals, each with its reason and line.
 */
START_TEST(test_known_hosts_verify)
{
	struct err e;

	/* Trusted through a wildcard, a negation-free list, a hashed name. */
	ck_assert_int_eq(verify("*" ED_KEY, "127.0.0.1", 2222, ED_B64, &e), 0);
	ck_assert_int_eq(verify("x.test,[127.0.0.?]:2222" ED_KEY, "127.0.0.1",
	                     2222, ED_B64, &e),
	    0);
	ck_assert_int_eq(verify(HASHED_LOCAL_2222 ED_KEY, "127.0.0.1", 2222,
	                     ED_B64, &e),
	    0);
	/* Any line with the key trusts it, whatever other lines say. */
	ck_assert_int_eq(verify("h.test" ED2_KEY "h.test" ED_KEY
	                        "@cert-authority *" ED2_KEY,
	                     "h.test", 22, ED_B64, &e),
	    0);

	/* No line for the host at all: 1, with the refusal ready. */
	ck_assert_int_eq(verify("", "h.test", 22, ED_B64, &e), 1);
	ck_assert_int_eq(e.class, ERR_HOSTKEY);
	ck_assert_ptr_nonnull(
	    strstr(e.msg, "is not known: ED25519 key " ED_FP));
	ck_assert_ptr_nonnull(
	    strstr(e.msg, "ssh-keyscan -p 22 -t ssh-ed25519"));
	/* A plain name on another port, a negated name: no line. */
	ck_assert_int_eq(verify("h.test" ED2_KEY, "h.test", 2222, ED_B64, &e),
	    1);
	ck_assert_int_eq(verify("!h.test,*.test" ED2_KEY, "h.test", 22, ED_B64,
	                     &e),
	    1);
	ck_assert_int_eq(verify(HASHED_LOCAL_2222 ED2_KEY, "127.0.0.1", 2223,
	                     ED_B64, &e),
	    1);
	/* Lines that hold no entry are skipped. */
	ck_assert_int_eq(verify("# h.test" ED2_KEY "@foo h.test" ED2_KEY
	                        "h.test ssh-ed25519 not-base64\n"
	                        "h.test ecdsa-sha2-nistp256 " ED2_B64 "\n"
	                        "h.test\n\n",
	                     "h.test", 22, ED_B64, &e),
	    1);

	/* Revoked: on any line, for whatever host it names, even "*". */
	ck_refused("h.test" ED_KEY "@revoked *" ED_KEY, "h.test", 22, ED_B64,
	    "REVOKED: its ED25519 key " ED_FP);
	ck_refused("h.test" ED_KEY "@revoked elsewhere.test" ED_KEY, "h.test",
	    22, ED_B64, "(line 2)");
	ck_refused("[127.0.0.1]:2222" ED_KEY
	           "@revoked " HASHED_LOCAL_2222 ED_KEY,
	    "127.0.0.1", 2222, ED_B64, "REVOKED");

	/* Changed, through any kind of line for the host. */
	ck_refused("h.test" ED2_KEY, "h.test", 22, ED_B64,
	    "HOST KEY CHANGED for h.test: its ED25519 key " ED_FP);
	ck_refused("*.test" ED2_KEY, "h.test", 22, ED_B64, "HOST KEY CHANGED");
	ck_refused("other.test" ED_KEY "[*]:*" ED2_KEY, "h.test", 2222, ED_B64,
	    "HOST KEY CHANGED for [h.test]:2222");
	ck_refused(HASHED_LOCAL_2222 ED2_KEY, "127.0.0.1", 2222, ED_B64,
	    "(line 1;");

	/* Keys of other types only: refused, not treated as unknown. */
	ck_refused("h.test " EC_LINE "\n", "h.test", 22, ED_B64,
	    "holds other keys for it (line 1: ecdsa-sha2-nistp256)");
	ck_refused("h.test sk-ssh-ed25519@openssh.com "
	           "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIIOjTc2gkghfQ9"
	           "xJJbiCa7h9wbFG6AsC1CfrrSTE53eHAAAABHNzaDo=\n",
	    "h.test", 22, ED_B64, "holds other keys");

	/* Only a @cert-authority line: refused, with why. */
	ck_refused("@cert-authority *.test" ED2_KEY, "h.test", 22, ED_B64,
	    "only by a @cert-authority line (line 1)");
	ck_refused("@cert-authority *" ED_KEY, "h.test", 22, ED_B64,
	    "@cert-authority");
	/* ... but one for other hosts is no line for this one. */
	ck_assert_int_eq(verify("@cert-authority *.org" ED2_KEY, "h.test", 22,
	                     ED_B64, &e),
	    1);
}
END_TEST

Suite *sftp_suite(void);

Suite *
sftp_suite(void)
{
	Suite *s = suite_create("sftp");
	TCase *tc = tcase_create("sftp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_fingerprint);
	tcase_add_test(tc, test_known_hosts_methods);
	tcase_add_test(tc, test_known_hosts_record);
	tcase_add_test(tc, test_known_hosts_patterns);
	tcase_add_test(tc, test_known_hosts_verify);
	suite_add_tcase(s, tc);
	return (s);
}
