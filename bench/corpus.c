/*
 * corpus: the benchmark's test data, made the same way every time.
 *
 *   corpus [-s SEED] [-S SIZE_MIB] DIR   write a new corpus into DIR
 *   corpus [-s SEED] --day N DIR         apply day N of changes to DIR
 *   corpus --stats DIR                   what a corpus holds, per kind
 *
 * A corpus is what coffer is for: a pg_dump-style SQL dump (55% of SIZE),
 * logs (25%), incompressible blobs (20%) and an /etc-like tree of about
 * 3,000 small files.  The same seed and size give the same names, bytes,
 * modes and mtimes, so every engine backs up the same files.  Every file is
 * streamed through fixed buffers: memory stays bounded whatever SIZE is.
 *
 * This is a standalone tool, not part of libcoffer: errors are printed
 * where they are found (fail()) and main() turns -1 into exit status 1.
 */
#include <sys/types.h>

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NELEM(a)   (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a) ((a)[rng_below((r), NELEM(a))])

/* Day 0 of every corpus: 2024-03-01 00:00:00 UTC.  Day N ends N days on. */
#define CORPUS_T0  INT64_C(1709251200)
#define DAY        INT64_C(86400)
#define MIB        (UINT64_C(1) << 20)
#define OUT_CAP    (1u << 20) /* write buffer */
#define LINE_MAX_  4096u      /* longest line a generator writes */
#define RD_CAP     (1u << 20) /* read buffer: also the longest line read */
#define CONF_FILES 3000u      /* files in the /etc-like tree */
#define CONF_DIRS  180u
#define CONF_MAX   (64u << 10) /* the largest config file day N will edit */

#define SQL_PATH "db/gasdb.sql"

/* Random stream numbers: each part draws from its own stream, so that
 * changing one part's size does not move the bytes of another. */
enum stream {
	ST_SQL = 10,
	ST_LOG = 100,
	ST_BLOB = 200,
	ST_CONF = 300,
	ST_DAY = 1000
};

/* ---- errors -------------------------------------------------------- */

static int fail(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Print "corpus: MESSAGE[: strerror(errno)]" and return -1.  The errno
 * part is added when the message ends in ':'. */
static int
fail(const char *fmt, ...)
{
	char msg[1024];
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (n > 0 && msg[n - 1] == ':')
		fprintf(stderr, "corpus: %s %s\n", msg, strerror(saved));
	else
		fprintf(stderr, "corpus: %s\n", msg);
	return (-1);
}

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n)) == NULL) {
		fprintf(stderr, "corpus: out of memory\n");
		exit(1);
	}
	return (p);
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return (memcpy(xmalloc(n), s, n));
}

/* ---- random numbers: splitmix64 seeding, xoshiro256** ----------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z;

	z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

static void
rng_init(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed * UINT64_C(0x9e3779b97f4a7c15) ^
	    (stream + 1) * UINT64_C(0xd1b54a32d192ed03);
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t
rotl64(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return (res);
}

/* A number in [0, n); n > 0.  Multiply-shift: no division, no bias that
 * matters at these sizes. */
static inline uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return ((uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64));
}

/* True with probability num/den. */
static inline int
rng_chance(struct rng *r, uint64_t num, uint64_t den)
{
	return (rng_below(r, den) < num);
}

/* ---- fingerprint: a cheap hash of everything written ------------------ */

/* Not cryptographic: it only lets bench/run see that two generations wrote
 * the same bytes without hashing a gigabyte again. */
static uint64_t
fp_mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, b, 8);
		h = rotl64(h ^ w, 29) * UINT64_C(0x9fb21c651e98df25);
		b += 8;
		n -= 8;
	}
	while (n > 0) {
		h = (h ^ *b++) * UINT64_C(0x100000001b3);
		n--;
	}
	return (h);
}

/* The hash of one run: bytes, mtimes and paths relative to the corpus. */
struct fprint {
	uint64_t h;
	size_t root_len; /* strlen("DIR/") */
};

/* ---- buffered output file --------------------------------------------- */

struct out {
	int fd;
	char *path;
	char *buf;
	size_t len;
	uint64_t bytes; /* written through this handle */
	struct fprint *fp;
};

static int
write_all(int fd, const char *p, size_t n, const char *path)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return (fail("write %s:", path));
		}
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

static int
out_flush(struct out *o)
{
	if (o->len == 0)
		return (0);
	o->fp->h = fp_mix(o->fp->h, o->buf, o->len);
	if (write_all(o->fd, o->buf, o->len, o->path) == -1)
		return (-1);
	o->len = 0;
	return (0);
}

/* Open PATH for writing: flags O_EXCL for a new file, O_APPEND to add. */
static int
out_open(struct out *o, const char *path, int flags, struct fprint *fp)
{
	memset(o, 0, sizeof(*o));
	o->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
	if (o->fd == -1)
		return (fail("open %s:", path));
	o->path = xstrdup(path);
	o->buf = xmalloc(OUT_CAP);
	o->fp = fp;
	fp->h = fp_mix(fp->h, path + fp->root_len, strlen(path + fp->root_len));
	return (0);
}

/* Room for one generated line at o->buf + o->len. */
static inline int
out_reserve(struct out *o)
{
	if (OUT_CAP - o->len < LINE_MAX_)
		return (out_flush(o));
	return (0);
}

static int
out_put(struct out *o, const void *p, size_t n)
{
	if (n > OUT_CAP - o->len) {
		if (out_flush(o) == -1)
			return (-1);
		if (n > OUT_CAP) {
			o->fp->h = fp_mix(o->fp->h, p, n);
			o->bytes += n;
			return (write_all(o->fd, p, n, o->path));
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->bytes += n;
	return (0);
}

static int
out_str(struct out *o, const char *s)
{
	return (out_put(o, s, strlen(s)));
}

static void
ts_of(struct timespec *ts, int64_t sec, long nsec)
{
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
}

/* Flush, set mode and mtime (atime = mtime), close.  Frees o either way. */
static int
out_close(struct out *o, mode_t mode, int64_t mtime, long nsec)
{
	struct timespec ts[2];
	int rc = -1;

	if (o->fd == -1)
		goto out;
	if (out_flush(o) == -1)
		goto out;
	ts_of(&ts[0], mtime, nsec);
	ts[1] = ts[0];
	o->fp->h = fp_mix(o->fp->h, ts, sizeof(ts));
	if (fchmod(o->fd, mode) == -1 || futimens(o->fd, ts) == -1) {
		fail("set mode/mtime of %s:", o->path);
		goto out;
	}
	rc = 0;
out:
	if (o->fd != -1 && close(o->fd) == -1 && rc == 0)
		rc = fail("close %s:", o->path);
	o->fd = -1;
	free(o->buf);
	free(o->path);
	o->buf = o->path = NULL;
	return (rc);
}

static int
set_mtime(const char *path, int64_t mtime, long nsec)
{
	struct timespec ts[2];

	ts_of(&ts[0], mtime, nsec);
	ts[1] = ts[0];
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == -1)
		return (fail("set mtime of %s:", path));
	return (0);
}

/* mkdir -p, mode 0755. */
static int
mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return (fail("path too long: %s", path));
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return (fail("mkdir %s:", tmp));
		*p = '/';
	}
	if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
		return (fail("mkdir %s:", tmp));
	return (0);
}

static int
join(char *dst, size_t cap, const char *a, const char *b)
{
	if (snprintf(dst, cap, "%s/%s", a, b) >= (int)cap)
		return (fail("path too long: %s/%s", a, b));
	return (0);
}

/* ---- formatting into a line buffer: each returns the new end ----------- */

static char *
put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return (p + n);
}

static char *
put_lower(char *p, const char *s)
{
	while (*s != '\0')
		*p++ = (char)tolower((unsigned char)*s++);
	return (p);
}

static char *
put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return (p);
}

/* Exactly WIDTH digits of v, zero-padded (v is taken modulo 10^WIDTH). */
static char *
put_pad(char *p, uint64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return (p + width);
}

static char *
put_hex(char *p, uint64_t v, int width)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = hex[v & 15];
		v >>= 4;
	}
	return (p + width);
}

/* Cents as "1234.56". */
static char *
put_money(char *p, uint64_t cents)
{
	p = put_u64(p, cents / 100);
	*p++ = '.';
	return (put_pad(p, cents % 100, 2));
}

static char *
put_ip(char *p, struct rng *r, int private_net)
{
	if (private_net) {
		p = put_str(p, "10.");
		p = put_u64(p, rng_below(r, 4));
	} else {
		p = put_u64(p, 1 + rng_below(r, 223));
		*p++ = '.';
		p = put_u64(p, rng_below(r, 256));
	}
	*p++ = '.';
	p = put_u64(p, rng_below(r, 256));
	*p++ = '.';
	return (put_u64(p, 1 + rng_below(r, 254)));
}

/* Calendar fields of one day, cached: gmtime_r only when the day changes. */
struct clock {
	int64_t day;
	struct tm tm;
};

static const struct tm *
clock_day(struct clock *c, int64_t t)
{
	time_t x;

	if (t / DAY != c->day) {
		c->day = t / DAY;
		x = (time_t)(c->day * DAY);
		gmtime_r(&x, &c->tm);
	}
	return (&c->tm);
}

static const char *const month_abbr[] = { "Jan", "Feb", "Mar", "Apr", "May",
	"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static char *
put_hms(char *p, int64_t t, char sep)
{
	int64_t s = t % DAY;

	p = put_pad(p, (uint64_t)(s / 3600), 2);
	*p++ = sep;
	p = put_pad(p, (uint64_t)(s / 60 % 60), 2);
	*p++ = sep;
	return (put_pad(p, (uint64_t)(s % 60), 2));
}

/* "2024-03-01" */
static char *
put_date(char *p, struct clock *c, int64_t t, char sep)
{
	const struct tm *tm = clock_day(c, t);

	p = put_pad(p, (uint64_t)(tm->tm_year + 1900), 4);
	*p++ = sep;
	p = put_pad(p, (uint64_t)(tm->tm_mon + 1), 2);
	*p++ = sep;
	return (put_pad(p, (uint64_t)tm->tm_mday, 2));
}

/* "2024-03-01 04:12:55" (sep ' ') or "2024-03-01T04:12:55" */
static char *
put_iso(char *p, struct clock *c, int64_t t, char sep)
{
	p = put_date(p, c, t, '-');
	*p++ = sep;
	return (put_hms(p, t, ':'));
}

/* "Mar  1 04:12:55" */
static char *
put_syslog_time(char *p, struct clock *c, int64_t t)
{
	const struct tm *tm = clock_day(c, t);

	p = put_str(p, month_abbr[tm->tm_mon]);
	*p++ = ' ';
	if (tm->tm_mday < 10)
		*p++ = ' ';
	p = put_u64(p, (uint64_t)tm->tm_mday);
	*p++ = ' ';
	return (put_hms(p, t, ':'));
}

/* "01/Mar/2024:04:12:55 +0000" */
static char *
put_clf_time(char *p, struct clock *c, int64_t t)
{
	const struct tm *tm = clock_day(c, t);

	p = put_pad(p, (uint64_t)tm->tm_mday, 2);
	*p++ = '/';
	p = put_str(p, month_abbr[tm->tm_mon]);
	*p++ = '/';
	p = put_pad(p, (uint64_t)(tm->tm_year + 1900), 4);
	*p++ = ':';
	p = put_hms(p, t, ':');
	return (put_str(p, " +0000"));
}

/* ---- word lists ------------------------------------------------------- */

static const char *const first_names[] = { "Anna", "Ben", "Clara", "David",
	"Emma", "Felix", "Greta", "Hannah", "Ida", "Jonas", "Karl", "Lena",
	"Lukas", "Maria", "Max", "Mia", "Noah", "Olga", "Paul", "Paula",
	"Peter", "Rosa", "Sara", "Simon", "Sophie", "Thomas", "Ute", "Vera",
	"Walter", "Yusuf", "Zoe", "Ali", "Bernd", "Carina", "Dieter", "Elif",
	"Frank", "Gisela", "Heinz", "Ingrid", "Jana", "Klaus", "Leon", "Monika",
	"Nina", "Oskar", "Petra", "Ralf", "Sabine", "Tim", "Uwe", "Valentina",
	"Werner", "Xenia", "Yvonne", "Zeynep", "Andreas", "Birgit", "Christian",
	"Doris", "Erik", "Fatima", "Georg", "Helga", "Igor", "Julia" };
static const char *const last_names[] = { "Mueller", "Schmidt", "Schneider",
	"Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
	"Koch", "Richter", "Klein", "Wolf", "Schroeder", "Neumann", "Schwarz",
	"Braun", "Hofmann", "Zimmermann", "Schmitt", "Hartmann", "Krueger",
	"Schmid", "Werner", "Lange", "Schmitz", "Meier", "Krause", "Maier",
	"Lehmann", "Huber", "Mayer", "Herrmann", "Koehler", "Walter", "Koenig",
	"Schulze", "Fuchs", "Kaiser", "Lang", "Weiss", "Peters", "Scholz",
	"Jung", "Moeller", "Hahn", "Keller", "Vogel", "Schubert", "Roth",
	"Frank", "Friedrich", "Beck", "Guenther", "Berger", "Winkler", "Lorenz",
	"Baumann", "Schuster", "Kraus", "Boehm", "Simon", "Franke", "Albrecht",
	"Yilmaz", "Kaya", "Nowak", "Kowalski", "Rossi", "Garcia", "Novak" };
static const char *const streets[] = { "Haupt", "Schul", "Garten", "Bahnhof",
	"Dorf", "Berg", "Birken", "Linden", "Kirch", "Wald", "Ring", "Friedhof",
	"Post", "Wiesen", "Rosen", "Mozart", "Goethe", "Schiller", "Beethoven",
	"Eichen", "Tannen", "Buchen", "Ahorn", "Mühlen", "Feld", "Anger",
	"Industrie", "Gewerbe", "Hafen", "Markt", "Burg", "Sonnen", "Blumen",
	"Kastanien", "Erlen", "Fichten", "Bach", "See", "Parkweg", "Lerchen" };
static const char *const street_types[] = { "strasse", "weg", "allee", "gasse",
	"ring", "platz", "damm", "pfad" };
static const char *const cities[] = { "Berlin", "Hamburg", "Muenchen", "Koeln",
	"Frankfurt", "Stuttgart", "Duesseldorf", "Leipzig", "Dortmund", "Essen",
	"Bremen", "Dresden", "Hannover", "Nuernberg", "Duisburg", "Bochum",
	"Wuppertal", "Bielefeld", "Bonn", "Muenster", "Mannheim", "Karlsruhe",
	"Augsburg", "Wiesbaden", "Kiel", "Aachen", "Halle", "Magdeburg",
	"Freiburg", "Krefeld", "Mainz", "Luebeck", "Erfurt", "Rostock",
	"Kassel", "Potsdam", "Saarbruecken", "Oldenburg", "Ulm", "Jena",
	"Goettingen", "Cottbus", "Zwickau", "Trier", "Fulda" };
static const char *const email_domains[] = { "gmail.com", "web.de", "gmx.de",
	"t-online.de", "outlook.com", "yahoo.de", "posteo.de", "mailbox.org",
	"freenet.de", "icloud.com" };
static const char *const tariffs[] = { "G-BASIC", "G-FLEX", "G-ECO24",
	"G-BUSINESS", "G-HEAT", "G-FIX12", "G-GREEN" };
static const char *const cust_status[] = { "active", "active", "active",
	"active", "active", "active", "suspended", "closed", "moved",
	"pending" };
static const char *const meter_models[] = { "Elster BK-G4", "Elster BK-G6",
	"Itron Gallus G4", "Itron RF1 G6", "Pipersberg G4 E",
	"Honeywell BK-G10", "Diehl Hydrus", "Landis+Gyr G350" };
static const char *const meter_status[] = { "installed", "installed",
	"installed", "installed", "removed", "faulty", "replaced",
	"calibration" };
static const char *const read_sources[] = { "AMR", "AMR", "AMR", "MAN", "EST",
	"CUS", "SMR" };
static const char *const read_quality[] = { "A", "A", "A", "A", "E", "S", "V" };
static const char *const inv_status[] = { "paid", "paid", "paid", "paid",
	"issued", "issued", "overdue", "draft", "cancelled", "reminded" };
static const char *const pay_methods[] = { "sepa_debit", "sepa_debit",
	"sepa_debit", "transfer", "card", "cash", "paypal" };
static const char *const notes[] = { "meter not accessible",
	"customer reading via portal", "estimated after 3 attempts",
	"seal broken, technician informed", "reading plausible",
	"dog on premises", "key at neighbour", "photo attached" };
static const char *const users[] = { "admin", "mbecker", "jschmidt", "operator",
	"billing", "etl", "kfischer", "portal", "support1", "support2",
	"svc_import", "root", "deploy", "backup" };
static const char *const actions[] = { "update", "update", "update", "insert",
	"insert", "delete", "login", "export", "approve" };
static const char *const entities[] = { "customer", "invoice", "meter",
	"payment", "meter_reading", "tariff", "contract" };
static const char *const fields[] = { "status", "email", "phone", "tariff",
	"amount", "due_date", "street", "iban", "note", "quality" };
static const char *const words[] = { "alpha", "backup", "cache", "daemon",
	"enable", "filter", "gateway", "host", "index", "journal", "kernel",
	"limit", "module", "network", "option", "policy", "queue", "route",
	"server", "timeout", "upstream", "volume", "worker", "proxy", "listen",
	"socket", "buffer", "client", "default", "local", "remote", "secure",
	"session", "storage", "tls", "user", "group", "mode", "path", "level",
	"retry", "interval", "max", "min", "size", "log", "pool", "thread",
	"format", "charset", "locale", "zone", "mirror", "archive", "update",
	"service", "target", "mount", "device", "rule", "chain", "table",
	"input", "output", "forward", "accept", "drop", "reject", "allow",
	"deny" };
static const char *const hosts[] = { "gas-app01", "gas-app02", "gas-db01",
	"gas-db02" };
/* syslog: each daemon with its own kind of message (gen_log_line). */
static const char *const daemons[] = { "CRON", "systemd", "postfix/smtpd",
	"kernel", "coffer" };
static const char *const http_methods[] = { "GET", "GET", "GET", "GET", "GET",
	"POST", "POST", "PUT", "DELETE", "HEAD" };
static const char *const url_paths[] = { "/api/v1/customers/",
	"/api/v1/invoices/", "/api/v1/meters/", "/api/v1/readings/",
	"/portal/login", "/portal/account/", "/static/js/app.",
	"/static/css/s.", "/healthz", "/metrics", "/api/v1/payments/",
	"/portal/invoice/pdf/" };
static const uint16_t http_status[] = { 200, 200, 200, 200, 200, 200, 200, 200,
	304, 301, 302, 404, 404, 401, 403, 500, 502, 499 };
static const char *const agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
	"like Gecko) Chrome/121.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 "
	"Firefox/122.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) "
	"AppleWebKit/605.1."
	"15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
	"(KHTML, like Gecko) Version/17.2 Safari/605.1.15",
	"Prometheus/2.45.3", "curl/7.88.1", "python-requests/2.28.1",
	"GasPortalApp/3.4.1 (Android 14)"
};
static const char *const app_classes[] = { "billing.InvoiceService",
	"billing.PaymentMatcher", "meter.ReadingImporter",
	"portal.SessionController", "crm.CustomerRepository", "jobs.Scheduler",
	"sepa.DirectDebitExporter", "notify.MailSender" };
static const char *const levels[] = { "INFO ", "INFO ", "INFO ", "INFO ",
	"DEBUG", "DEBUG", "WARN ", "ERROR" };
static const char *const pg_tables[] = { "customers", "meters",
	"meter_readings", "invoices", "payments", "audit_log" };

/* ---- the SQL dump ------------------------------------------------------- */

enum kind {
	K_ID,
	K_CUST,
	K_METER,
	K_INV,
	K_ACCOUNT,
	K_FIRST,
	K_LAST,
	K_EMAIL,
	K_PHONE,
	K_STREET,
	K_ZIP,
	K_CITY,
	K_TARIFF,
	K_TS,
	K_DATE,
	K_CSTATUS,
	K_SERIAL,
	K_MODEL,
	K_LAT,
	K_LON,
	K_MSTATUS,
	K_READING,
	K_SOURCE,
	K_QUALITY,
	K_NOTE,
	K_INVNO,
	K_AMOUNT,
	K_VAT,
	K_CURRENCY,
	K_ISTATUS,
	K_METHOD,
	K_REFERENCE,
	K_USER,
	K_ACTION,
	K_ENTITY,
	K_IP,
	K_DETAIL
};

/* Which columns day N may change: FIX keeps the row's length (same-length
 * edit), VAR usually changes it. */
#define M_FIX 1u
#define M_VAR 2u

struct column {
	const char *name;
	const char *type;
	enum kind kind;
	unsigned mut;
};

struct table {
	const char *name;
	unsigned share;   /* per mille of the SQL bytes */
	unsigned avg_row; /* bytes, to estimate row counts */
	int64_t span;     /* seconds the table's timestamps cover up to T0 */
	const struct column *cols;
	size_t ncols;
};

static const struct column customers_cols[] = {
	{ "id", "integer NOT NULL", K_ID, 0 },
	{ "account_no", "character varying(16) NOT NULL", K_ACCOUNT, 0 },
	{ "first_name", "text NOT NULL", K_FIRST, 0 },
	{ "last_name", "text NOT NULL", K_LAST, M_VAR },
	{ "email", "text", K_EMAIL, M_VAR },
	{ "phone", "character varying(20)", K_PHONE, M_FIX },
	{ "street", "text NOT NULL", K_STREET, M_VAR },
	{ "zip", "character(5) NOT NULL", K_ZIP, M_FIX },
	{ "city", "text NOT NULL", K_CITY, 0 },
	{ "tariff", "character varying(12) NOT NULL", K_TARIFF, 0 },
	{ "created_at", "timestamp without time zone NOT NULL", K_TS, 0 },
	{ "status", "character varying(12) NOT NULL", K_CSTATUS, M_VAR },
};
static const struct column meters_cols[] = {
	{ "id", "integer NOT NULL", K_ID, 0 },
	{ "customer_id", "integer NOT NULL", K_CUST, 0 },
	{ "serial_no", "character varying(16) NOT NULL", K_SERIAL, 0 },
	{ "model", "text NOT NULL", K_MODEL, M_VAR },
	{ "installed_at", "timestamp without time zone NOT NULL", K_TS, M_FIX },
	{ "latitude", "numeric(9,6)", K_LAT, M_FIX },
	{ "longitude", "numeric(9,6)", K_LON, 0 },
	{ "status", "character varying(12) NOT NULL", K_MSTATUS, M_VAR },
};
static const struct column readings_cols[] = {
	{ "id", "bigint NOT NULL", K_ID, 0 },
	{ "meter_id", "integer NOT NULL", K_METER, 0 },
	{ "read_at", "timestamp without time zone NOT NULL", K_TS, 0 },
	{ "value_m3", "numeric(12,3) NOT NULL", K_READING, M_VAR },
	{ "source", "character(3) NOT NULL", K_SOURCE, M_FIX },
	{ "quality", "character(1) NOT NULL", K_QUALITY, M_FIX },
	{ "note", "text", K_NOTE, M_VAR },
};
static const struct column invoices_cols[] = {
	{ "id", "integer NOT NULL", K_ID, 0 },
	{ "customer_id", "integer NOT NULL", K_CUST, 0 },
	{ "number", "character varying(20) NOT NULL", K_INVNO, 0 },
	{ "issued_at", "timestamp without time zone NOT NULL", K_TS, M_FIX },
	{ "due_date", "date NOT NULL", K_DATE, M_FIX },
	{ "amount", "numeric(12,2) NOT NULL", K_AMOUNT, M_VAR },
	{ "vat", "numeric(12,2) NOT NULL", K_VAT, 0 },
	{ "currency", "character(3) NOT NULL", K_CURRENCY, 0 },
	{ "status", "character varying(12) NOT NULL", K_ISTATUS, M_VAR },
};
static const struct column payments_cols[] = {
	{ "id", "integer NOT NULL", K_ID, 0 },
	{ "invoice_id", "integer NOT NULL", K_INV, 0 },
	{ "paid_at", "timestamp without time zone NOT NULL", K_TS, M_FIX },
	{ "amount", "numeric(12,2) NOT NULL", K_AMOUNT, M_VAR },
	{ "method", "character varying(16) NOT NULL", K_METHOD, M_VAR },
	{ "reference", "character varying(40)", K_REFERENCE, M_FIX },
};
static const struct column audit_cols[] = {
	{ "id", "bigint NOT NULL", K_ID, 0 },
	{ "ts", "timestamp with time zone NOT NULL", K_TS, M_FIX },
	{ "username", "text NOT NULL", K_USER, 0 },
	{ "action", "character varying(16) NOT NULL", K_ACTION, 0 },
	{ "entity", "character varying(32) NOT NULL", K_ENTITY, 0 },
	{ "entity_id", "bigint", K_CUST, 0 },
	{ "client_ip", "inet", K_IP, M_VAR },
	{ "detail", "jsonb", K_DETAIL, M_VAR },
};

#define TBL(n, share, avg, span, c)                                            \
	{                                                                      \
		n, share, avg, span, c, NELEM(c)                               \
	}
static const struct table tables[] = {
	TBL("customers", 110, 150, 12 * 365 * DAY, customers_cols),
	TBL("meters", 60, 95, 10 * 365 * DAY, meters_cols),
	TBL("meter_readings", 420, 55, 4 * 365 * DAY, readings_cols),
	TBL("invoices", 200, 110, 6 * 365 * DAY, invoices_cols),
	TBL("payments", 100, 85, 6 * 365 * DAY, payments_cols),
	TBL("audit_log", 110, 150, 2 * 365 * DAY, audit_cols),
};
#define NTABLES NELEM(tables)

/* What a row generator needs besides the randomness. */
struct rowctx {
	struct rng *rng;
	struct clock clk;
	uint64_t nrows[NTABLES]; /* rows per table: foreign-key ranges */
};

static int64_t
row_time(const struct rowctx *x, const struct table *t, size_t ti, uint64_t id,
    struct rng *r)
{
	uint64_t n = x->nrows[ti] == 0 ? 1 : x->nrows[ti];
	int64_t step = t->span / (int64_t)n;

	if (step < 1)
		step = 1;
	return (CORPUS_T0 - t->span + (int64_t)id * step +
	    (int64_t)rng_below(r, (uint64_t)step));
}

static char *
gen_field(char *p, struct rowctx *x, size_t ti, uint64_t id, enum kind k)
{
	const struct table *t = &tables[ti];
	struct rng *r = x->rng;
	const char *a, *b;
	uint64_t v;

	switch (k) {
	case K_ID:
		return (put_u64(p, id));
	case K_CUST:
		return (put_u64(p, 1 + rng_below(r, x->nrows[0] + 1)));
	case K_METER:
		return (put_u64(p, 1 + rng_below(r, x->nrows[1] + 1)));
	case K_INV:
		return (put_u64(p, 1 + rng_below(r, x->nrows[3] + 1)));
	case K_ACCOUNT:
		p = put_str(p, "GA-");
		return (put_pad(p, 10000000 + id * 7, 8));
	case K_FIRST:
		return (put_str(p, PICK(r, first_names)));
	case K_LAST:
		return (put_str(p, PICK(r, last_names)));
	case K_EMAIL:
		if (rng_chance(r, 1, 12))
			return (put_str(p, "\\N"));
		a = PICK(r, first_names);
		b = PICK(r, last_names);
		p = put_lower(p, a);
		*p++ = rng_chance(r, 1, 2) ? '.' : '_';
		p = put_lower(p, b);
		if (rng_chance(r, 1, 2))
			p = put_u64(p, rng_below(r, 100));
		*p++ = '@';
		return (put_str(p, PICK(r, email_domains)));
	case K_PHONE:
		p = put_str(p, "+49 ");
		p = put_pad(p, 30 + rng_below(r, 970), 3);
		*p++ = ' ';
		return (put_pad(p, rng_below(r, 10000000), 7));
	case K_STREET:
		p = put_str(p, PICK(r, streets));
		p = put_str(p, PICK(r, street_types));
		*p++ = ' ';
		p = put_u64(p, 1 + rng_below(r, 180));
		if (rng_chance(r, 1, 8))
			*p++ = (char)('a' + rng_below(r, 4));
		return (p);
	case K_ZIP:
		return (put_pad(p, 1000 + rng_below(r, 98000), 5));
	case K_CITY:
		return (put_str(p, PICK(r, cities)));
	case K_TARIFF:
		return (put_str(p, PICK(r, tariffs)));
	case K_TS:
		return (put_iso(p, &x->clk, row_time(x, t, ti, id, r), ' '));
	case K_DATE:
		return (put_date(p, &x->clk,
		    row_time(x, t, ti, id, r) + 14 * DAY, '-'));
	case K_CSTATUS:
		return (put_str(p, PICK(r, cust_status)));
	case K_SERIAL:
		p = put_str(p, "EZ");
		return (put_pad(p, rng_next(r), 9));
	case K_MODEL:
		return (put_str(p, PICK(r, meter_models)));
	case K_LAT:
		p = put_u64(p, 48 + rng_below(r, 6));
		*p++ = '.';
		return (put_pad(p, rng_below(r, 1000000), 6));
	case K_LON:
		p = put_u64(p, 6 + rng_below(r, 9));
		*p++ = '.';
		return (put_pad(p, rng_below(r, 1000000), 6));
	case K_MSTATUS:
		return (put_str(p, PICK(r, meter_status)));
	case K_READING:
		v = id / (x->nrows[1] + 1) * 37 + rng_below(r, 40000);
		p = put_u64(p, v);
		*p++ = '.';
		return (put_pad(p, rng_below(r, 1000), 3));
	case K_SOURCE:
		return (put_str(p, PICK(r, read_sources)));
	case K_QUALITY:
		return (put_str(p, PICK(r, read_quality)));
	case K_NOTE:
		if (rng_chance(r, 15, 16))
			return (put_str(p, "\\N"));
		return (put_str(p, PICK(r, notes)));
	case K_INVNO:
		p = put_str(p, "INV-");
		p = put_u64(p, 2018 + id * 6 / (x->nrows[3] + 1));
		*p++ = '-';
		return (put_pad(p, id, 7));
	case K_AMOUNT:
		v = rng_chance(r, 1, 10) ? rng_below(r, 500000)
		                         : 1500 + rng_below(r, 30000);
		return (put_money(p, v));
	case K_VAT:
		return (put_money(p, rng_below(r, 6000)));
	case K_CURRENCY:
		return (put_str(p, "EUR"));
	case K_ISTATUS:
		return (put_str(p, PICK(r, inv_status)));
	case K_METHOD:
		return (put_str(p, PICK(r, pay_methods)));
	case K_REFERENCE:
		p = put_str(p, "SEPA-");
		return (put_hex(p, rng_next(r), 16));
	case K_USER:
		return (put_str(p, PICK(r, users)));
	case K_ACTION:
		return (put_str(p, PICK(r, actions)));
	case K_ENTITY:
		return (put_str(p, PICK(r, entities)));
	case K_IP:
		return (put_ip(p, r, rng_chance(r, 3, 4)));
	case K_DETAIL:
		p = put_str(p, "{\"field\": \"");
		p = put_str(p, PICK(r, fields));
		p = put_str(p, "\", \"old\": \"");
		p = put_str(p, PICK(r, words));
		p = put_str(p, "\", \"new\": \"");
		p = put_str(p, PICK(r, words));
		p = put_str(p, "\", \"request\": \"");
		p = put_hex(p, rng_next(r), 12);
		return (put_str(p, "\"}"));
	}
	return (p);
}

/* One COPY row with its newline. */
static char *
gen_row(char *p, struct rowctx *x, size_t ti, uint64_t id)
{
	const struct table *t = &tables[ti];
	size_t c;

	for (c = 0; c < t->ncols; c++) {
		if (c > 0)
			*p++ = '\t';
		p = gen_field(p, x, ti, id, t->cols[c].kind);
	}
	*p++ = '\n';
	return (p);
}

static const char sql_header[] =
    "--\n"
    "-- PostgreSQL database dump\n"
    "--\n"
    "\n"
    "-- Dumped from database version 15.5 (Debian 15.5-0+deb12u1)\n"
    "-- Dumped by pg_dump version 15.5 (Debian 15.5-0+deb12u1)\n"
    "\n"
    "SET statement_timeout = 0;\n"
    "SET lock_timeout = 0;\n"
    "SET idle_in_transaction_session_timeout = 0;\n"
    "SET client_encoding = 'UTF8';\n"
    "SET standard_conforming_strings = on;\n"
    "SELECT pg_catalog.set_config('search_path', '', false);\n"
    "SET check_function_bodies = false;\n"
    "SET xmloption = content;\n"
    "SET client_min_messages = warning;\n"
    "SET row_security = off;\n"
    "\n"
    "SET default_tablespace = '';\n"
    "\n"
    "SET default_table_access_method = heap;\n"
    "\n";

static int
sql_schema(struct out *o, const struct table *t)
{
	char buf[LINE_MAX_];
	size_t c;

	snprintf(buf, sizeof(buf),
	    "--\n-- Name: %s; Type: TABLE; Schema: public; Owner: gas\n--\n\n"
	    "CREATE TABLE public.%s (\n",
	    t->name, t->name);
	if (out_str(o, buf) == -1)
		return (-1);
	for (c = 0; c < t->ncols; c++) {
		snprintf(buf, sizeof(buf), "    %s %s%s\n", t->cols[c].name,
		    t->cols[c].type, c + 1 < t->ncols ? "," : "");
		if (out_str(o, buf) == -1)
			return (-1);
	}
	snprintf(buf, sizeof(buf),
	    ");\n\n\nALTER TABLE public.%s OWNER TO gas;\n\n"
	    "--\n-- Name: %s_id_seq; Type: SEQUENCE; Schema: public; "
	    "Owner: gas\n--\n\n"
	    "CREATE SEQUENCE public.%s_id_seq\n    START WITH 1\n"
	    "    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n"
	    "    CACHE 1;\n\n\n",
	    t->name, t->name, t->name);
	return (out_str(o, buf));
}

/* "COPY public.T (a, b, c) FROM stdin;\n" */
static int
sql_copy_line(struct out *o, const struct table *t)
{
	char buf[LINE_MAX_];
	size_t c, n;

	n = (size_t)snprintf(buf, sizeof(buf),
	    "--\n-- Data for Name: %s; Type: TABLE DATA; Schema: public; "
	    "Owner: gas\n--\n\nCOPY public.%s (",
	    t->name, t->name);
	for (c = 0; c < t->ncols; c++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
		    c > 0 ? ", " : "", t->cols[c].name);
	snprintf(buf + n, sizeof(buf) - n, ") FROM stdin;\n");
	return (out_str(o, buf));
}

static int
sql_setval(struct out *o, const struct table *t, uint64_t maxid)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
	    "SELECT pg_catalog.setval('public.%s_id_seq', %" PRIu64
	    ", true);\n",
	    t->name, maxid);
	return (out_str(o, buf));
}

static int
sql_footer(struct out *o)
{
	char buf[LINE_MAX_];
	size_t i;

	for (i = 0; i < NTABLES; i++) {
		snprintf(buf, sizeof(buf),
		    "\n--\n-- Name: %s %s_pkey; Type: CONSTRAINT; "
		    "Schema: public; Owner: gas\n--\n\n"
		    "ALTER TABLE ONLY public.%s\n"
		    "    ADD CONSTRAINT %s_pkey PRIMARY KEY (id);\n",
		    tables[i].name, tables[i].name, tables[i].name,
		    tables[i].name);
		if (out_str(o, buf) == -1)
			return (-1);
	}
	return (out_str(o,
	    "\n\nCREATE INDEX meter_readings_meter_id_read_at_idx ON "
	    "public.meter_readings USING btree (meter_id, read_at);\n"
	    "CREATE INDEX invoices_customer_id_idx ON public.invoices USING "
	    "btree (customer_id);\n"
	    "CREATE INDEX audit_log_ts_idx ON public.audit_log USING brin "
	    "(ts);\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n"));
}

static int
gen_sql(const char *dir, uint64_t seed, uint64_t budget, struct fprint *fp)
{
	char path[PATH_MAX];
	struct out o = { .fd = -1 };
	struct rng r;
	struct rowctx x;
	uint64_t maxid[NTABLES];
	uint64_t start, id;
	size_t ti;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.clk.day = -1;
	x.rng = &r;
	for (ti = 0; ti < NTABLES; ti++)
		x.nrows[ti] =
		    budget * tables[ti].share / 1000 / tables[ti].avg_row;
	if (join(path, sizeof(path), dir, SQL_PATH) == -1)
		return (-1);
	if (out_open(&o, path, O_EXCL, fp) == -1)
		return (-1);
	if (out_str(&o, sql_header) == -1)
		goto out;
	for (ti = 0; ti < NTABLES; ti++)
		if (sql_schema(&o, &tables[ti]) == -1)
			goto out;
	for (ti = 0; ti < NTABLES; ti++) {
		rng_init(&r, seed, ST_SQL + ti);
		if (sql_copy_line(&o, &tables[ti]) == -1)
			goto out;
		start = o.bytes;
		for (id = 1; o.bytes - start < budget * tables[ti].share / 1000;
		     id++) {
			char *p, *q;

			if (out_reserve(&o) == -1)
				goto out;
			p = o.buf + o.len;
			q = gen_row(p, &x, ti, id);
			o.len += (size_t)(q - p);
			o.bytes += (uint64_t)(q - p);
		}
		maxid[ti] = id - 1;
		if (out_str(&o, "\\.\n\n\n") == -1)
			goto out;
	}
	for (ti = 0; ti < NTABLES; ti++)
		if (sql_setval(&o, &tables[ti], maxid[ti]) == -1)
			goto out;
	if (sql_footer(&o) == -1)
		goto out;
	rc = 0;
out:
	if (out_close(&o, 0640, CORPUS_T0 - 3 * 3600 + 17, 125000000) == -1)
		rc = -1;
	return (rc);
}

/* ---- logs ------------------------------------------------------------- */

enum logkind { L_SYSLOG, L_AUTH, L_ACCESS, L_ERROR, L_APP, L_PG };

struct logfile {
	const char *path;
	enum logkind kind;
	unsigned share; /* per mille of the log bytes */
};

static const struct logfile logfiles[] = {
	{ "var/log/syslog", L_SYSLOG, 200 },
	{ "var/log/auth.log", L_AUTH, 60 },
	{ "var/log/nginx/access.log", L_ACCESS, 420 },
	{ "var/log/nginx/error.log", L_ERROR, 30 },
	{ "var/log/gasapp/app.log", L_APP, 210 },
	{ "var/log/postgresql/postgresql-15-main.log", L_PG, 80 },
};
#define NLOGS    NELEM(logfiles)
#define LOG_SPAN (28 * DAY)

/* "/api/v1/customers/123", "/static/js/app.1a2b3c4d.js", "/healthz" */
static char *
put_url(char *p, struct rng *r)
{
	const char *u = PICK(r, url_paths);
	size_t n = strlen(u);

	p = put_str(p, u);
	if (u[n - 1] == '/')
		return (put_u64(p, rng_below(r, 200000)));
	if (u[n - 1] == '.') {
		p = put_hex(p, rng_below(r, 64), 8);
		return (put_str(p, u[n - 2] == 's' ? ".css" : ".js"));
	}
	return (p);
}

/* One log line of kind K at time T (milliseconds), with its newline. */
static char *
gen_log_line(char *p, enum logkind k, struct rng *r, struct clock *c,
    int64_t tms)
{
	int64_t t = tms / 1000;
	uint64_t pid = 300 + rng_below(r, 60000), v;

	switch (k) {
	case L_SYSLOG:
		p = put_syslog_time(p, c, t);
		*p++ = ' ';
		p = put_str(p, PICK(r, hosts));
		*p++ = ' ';
		v = rng_below(r, NELEM(daemons));
		p = put_str(p, daemons[v]);
		*p++ = '[';
		p = put_u64(p, v == 1 ? 1 : pid);
		p = put_str(p, "]: ");
		switch (v) {
		case 0:
			p = put_str(p,
			    "(root) CMD (command -v debian-sa1 > "
			    "/dev/null && debian-sa1 1 1)");
			break;
		case 1:
			p = put_str(p, "Started ");
			p = put_str(p, PICK(r, words));
			p = put_str(p, "-");
			p = put_str(p, PICK(r, words));
			p = put_str(p, ".service - Periodic ");
			p = put_str(p, PICK(r, words));
			p = put_str(p, " job.");
			break;
		case 2:
			p = put_str(p, "connect from unknown[");
			p = put_ip(p, r, 0);
			p = put_str(p, "]");
			break;
		case 3:
			p = put_str(p, "eth0: rx ");
			p = put_u64(p, rng_next(r) >> 24);
			p = put_str(p, " tx ");
			p = put_u64(p, rng_next(r) >> 26);
			p = put_str(p, " drop ");
			p = put_u64(p, rng_below(r, 20));
			break;
		default:
			p = put_str(p, "snapshot gasdb: ");
			p = put_u64(p, rng_below(r, 90000));
			p = put_str(p, " files, ");
			p = put_u64(p, rng_next(r) >> 34);
			p = put_str(p, " bytes new, took ");
			p = put_u64(p, 1 + rng_below(r, 900));
			p = put_str(p, "s");
			break;
		}
		break;
	case L_AUTH:
		p = put_syslog_time(p, c, t);
		*p++ = ' ';
		p = put_str(p, PICK(r, hosts));
		p = put_str(p, " sshd[");
		p = put_u64(p, pid);
		p = put_str(p, "]: ");
		switch (rng_below(r, 4)) {
		case 0:
			p = put_str(p, "Accepted publickey for ");
			p = put_str(p, PICK(r, users));
			p = put_str(p, " from ");
			p = put_ip(p, r, 1);
			p = put_str(p, " port ");
			p = put_u64(p, 1024 + rng_below(r, 64000));
			p = put_str(p, " ssh2: ED25519 SHA256:");
			p = put_hex(p, rng_next(r), 16);
			p = put_hex(p, rng_next(r), 16);
			break;
		case 1:
			p = put_str(p, "Invalid user ");
			p = put_str(p, PICK(r, words));
			p = put_str(p, " from ");
			p = put_ip(p, r, 0);
			p = put_str(p, " port ");
			p = put_u64(p, 1024 + rng_below(r, 64000));
			break;
		case 2:
			p = put_str(p,
			    "pam_unix(sshd:session): session opened "
			    "for user ");
			p = put_str(p, PICK(r, users));
			p = put_str(p, "(uid=");
			p = put_u64(p, 1000 + rng_below(r, 30));
			p = put_str(p, ") by (uid=0)");
			break;
		default:
			p = put_str(p, "Disconnected from user ");
			p = put_str(p, PICK(r, users));
			*p++ = ' ';
			p = put_ip(p, r, 1);
			p = put_str(p, " port ");
			p = put_u64(p, 1024 + rng_below(r, 64000));
			break;
		}
		break;
	case L_ACCESS:
		p = put_ip(p, r, rng_chance(r, 1, 5));
		p = put_str(p, " - - [");
		p = put_clf_time(p, c, t);
		p = put_str(p, "] \"");
		p = put_str(p, PICK(r, http_methods));
		*p++ = ' ';
		p = put_url(p, r);
		if (rng_chance(r, 1, 3)) {
			p = put_str(p, "?page=");
			p = put_u64(p, 1 + rng_below(r, 40));
		}
		p = put_str(p, " HTTP/1.1\" ");
		p = put_u64(p, PICK(r, http_status));
		*p++ = ' ';
		p = put_u64(p, rng_below(r, 90000));
		p = put_str(p, " \"-\" \"");
		p = put_str(p, PICK(r, agents));
		p = put_str(p, "\" rt=0.");
		p = put_pad(p, rng_below(r, 1000), 3);
		break;
	case L_ERROR:
		p = put_date(p, c, t, '/');
		*p++ = ' ';
		p = put_hms(p, t, ':');
		p = put_str(p, rng_chance(r, 1, 3) ? " [error] " : " [warn] ");
		p = put_u64(p, pid);
		*p++ = '#';
		p = put_u64(p, pid);
		p = put_str(p, ": *");
		p = put_u64(p, rng_below(r, 9000000));
		p = put_str(p,
		    " upstream timed out (110: Connection timed "
		    "out) while reading response header from "
		    "upstream, client: ");
		p = put_ip(p, r, 0);
		p = put_str(p, ", server: portal.gas.example, request: \"GET ");
		p = put_url(p, r);
		p = put_str(p,
		    " HTTP/1.1\", upstream: \"http://127.0.0.1:8080\"");
		break;
	case L_APP:
		p = put_iso(p, c, t, 'T');
		*p++ = '.';
		p = put_pad(p, (uint64_t)(tms % 1000), 3);
		p = put_str(p, "Z ");
		p = put_str(p, PICK(r, levels));
		p = put_str(p, " [worker-");
		p = put_u64(p, rng_below(r, 16));
		p = put_str(p, "] ");
		p = put_str(p, PICK(r, app_classes));
		p = put_str(p, " - invoice INV-2024-");
		p = put_pad(p, rng_below(r, 10000000), 7);
		p = put_str(p, " for GA-");
		p = put_pad(p, rng_below(r, 100000000), 8);
		p = put_str(p,
		    rng_chance(r, 1, 2) ? " issued, amount "
		                        : " paid, amount ");
		p = put_money(p, 1500 + rng_below(r, 30000));
		p = put_str(p, " EUR, took ");
		p = put_u64(p, rng_below(r, 2000));
		p = put_str(p, " ms");
		break;
	case L_PG:
		p = put_iso(p, c, t, ' ');
		*p++ = '.';
		p = put_pad(p, (uint64_t)(tms % 1000), 3);
		p = put_str(p, " UTC [");
		p = put_u64(p, pid);
		p = put_str(p, "] gasapp@gasdb LOG:  duration: ");
		p = put_u64(p, rng_below(r, 3000));
		*p++ = '.';
		p = put_pad(p, rng_below(r, 1000), 3);
		p = put_str(p, " ms  statement: SELECT * FROM public.");
		p = put_str(p, PICK(r, pg_tables));
		p = put_str(p, " WHERE id = ");
		p = put_u64(p, rng_below(r, 5000000));
		break;
	}
	*p++ = '\n';
	return (p);
}

/* Append lines of log I to o until BUDGET bytes, timestamps from T0MS on,
 * spaced so that they span SPAN seconds. */
static int
gen_log_lines(struct out *o, size_t i, struct rng *r, uint64_t budget,
    int64_t t0ms, int64_t span)
{
	struct clock c = { .day = -1 };
	uint64_t start = o->bytes, done;
	int64_t tms;

	if (budget == 0)
		return (0);
	while ((done = o->bytes - start) < budget) {
		char *p, *q;

		if (out_reserve(o) == -1)
			return (-1);
		/* Time moves with the bytes written, so the lines span
		 * exactly SPAN whatever their lengths. */
		tms = t0ms +
		    (int64_t)((unsigned __int128)done *
		        (uint64_t)(span * 1000) / budget);
		p = o->buf + o->len;
		q = gen_log_line(p, logfiles[i].kind, r, &c, tms);
		o->len += (size_t)(q - p);
		o->bytes += (uint64_t)(q - p);
	}
	return (0);
}

static int
gen_logs(const char *dir, uint64_t seed, uint64_t budget, struct fprint *fp)
{
	char path[PATH_MAX];
	struct out o;
	struct rng r;
	size_t i;

	for (i = 0; i < NLOGS; i++) {
		uint64_t b = budget * logfiles[i].share / 1000;

		rng_init(&r, seed, ST_LOG + i);
		if (join(path, sizeof(path), dir, logfiles[i].path) == -1)
			return (-1);
		if (out_open(&o, path, O_EXCL, fp) == -1)
			return (-1);
		if (gen_log_lines(&o, i, &r, b, (CORPUS_T0 - LOG_SPAN) * 1000,
		        LOG_SPAN) == -1) {
			out_close(&o, 0640, CORPUS_T0, 0);
			return (-1);
		}
		if (out_close(&o, 0640, CORPUS_T0 - (int64_t)rng_below(&r, 600),
		        (long)rng_below(&r, 1000000000)) == -1)
			return (-1);
	}
	return (0);
}

/* ---- blobs: incompressible ----------------------------------------------- */

static const struct {
	const char *path;
	unsigned share;
} blobs[] = {
	{ "blobs/meter-photos-2023.tar", 350 },
	{ "blobs/contract-scans.pdf", 250 },
	{ "blobs/firmware/gateway-fw-4.2.img", 200 },
	{ "blobs/vm/reporting.qcow2", 120 },
	{ "blobs/media/portal-assets.zip", 80 },
};

static int
gen_blobs(const char *dir, uint64_t seed, uint64_t budget, struct fprint *fp)
{
	char path[PATH_MAX];
	struct out o;
	struct rng r;
	size_t i, k;

	for (i = 0; i < NELEM(blobs); i++) {
		uint64_t left = budget * blobs[i].share / 1000;

		rng_init(&r, seed, ST_BLOB + i);
		if (join(path, sizeof(path), dir, blobs[i].path) == -1)
			return (-1);
		if (out_open(&o, path, O_EXCL, fp) == -1)
			return (-1);
		while (left > 0) {
			size_t n = left < OUT_CAP ? (size_t)left : OUT_CAP;

			if (out_flush(&o) == -1) {
				out_close(&o, 0644, 0, 0);
				return (-1);
			}
			for (k = 0; k + 8 <= n; k += 8) {
				uint64_t w = rng_next(&r);

				memcpy(o.buf + k, &w, 8);
			}
			for (; k < n; k++)
				o.buf[k] = (char)rng_next(&r);
			o.len = n;
			o.bytes += n;
			left -= n;
		}
		if (out_close(&o, 0644,
		        CORPUS_T0 - 30 * DAY -
		            (int64_t)rng_below(&r, 300 * DAY),
		        (long)rng_below(&r, 1000000000)) == -1)
			return (-1);
	}
	return (0);
}

/* ---- the /etc-like tree ----------------------------------------------------
 */

static const char *const etc_top[] = { "apt", "ssh", "nginx", "systemd",
	"postgresql", "coffer", "gasapp", "default", "cron.d", "logrotate.d",
	"security", "ssl", "network", "udev", "sysctl.d", "profile.d",
	"modprobe.d", "pam.d", "prometheus", "rsyslog.d", "fail2ban",
	"apparmor.d", "dpkg", "ca-certificates", "grafana", "postfix" };
static const char *const conf_ext[] = { ".conf", ".conf", ".conf", ".ini",
	".yaml", ".rules", ".list", ".cfg", "" };

enum confstyle { CS_INI, CS_YAML, CS_DIRECTIVE };

static char *
put_conf_value(char *p, struct rng *r)
{
	switch (rng_below(r, 8)) {
	case 0:
		return (put_u64(p,
		    rng_below(r, rng_chance(r, 1, 2) ? 100 : 100000)));
	case 1:
		return (put_str(p, rng_chance(r, 1, 2) ? "yes" : "no"));
	case 2:
		p = put_str(p, "/var/lib/");
		p = put_str(p, PICK(r, words));
		*p++ = '/';
		return (put_str(p, PICK(r, words)));
	case 3:
		p = put_str(p, PICK(r, words));
		*p++ = '.';
		return (put_str(p, "gas.example.net"));
	case 4:
		return (put_ip(p, r, 1));
	case 5:
		p = put_u64(p, 1 + rng_below(r, 120));
		return (put_str(p, rng_chance(r, 1, 2) ? "s" : "m"));
	case 6:
		*p++ = '"';
		p = put_str(p, PICK(r, words));
		*p++ = ' ';
		p = put_str(p, PICK(r, words));
		*p++ = '"';
		return (p);
	default:
		return (put_str(p, PICK(r, words)));
	}
}

static char *
put_conf_line(char *p, struct rng *r, enum confstyle cs)
{
	uint64_t n;

	if (rng_chance(r, 1, 6)) {
		p = put_str(p, "# ");
		for (n = 2 + rng_below(r, 8); n > 0; n--) {
			p = put_str(p, PICK(r, words));
			*p++ = n > 1 ? ' ' : '.';
		}
		*p++ = '\n';
		return (p);
	}
	if (cs == CS_YAML && rng_chance(r, 1, 2))
		p = put_str(p, "  ");
	p = put_str(p, PICK(r, words));
	*p++ = '_';
	p = put_str(p, PICK(r, words));
	p = put_str(p, cs == CS_INI ? " = " : cs == CS_YAML ? ": " : " ");
	p = put_conf_value(p, r);
	*p++ = '\n';
	return (p);
}

/* A config file of about TARGET bytes into buf (CONF_MAX). */
static size_t
gen_conf(char *buf, struct rng *r, const char *rel, enum confstyle cs,
    size_t target)
{
	char *p = buf;

	p = put_str(p, "# /");
	p = put_str(p, rel);
	p = put_str(p,
	    "\n# Managed by configuration management; local "
	    "changes are overwritten.\n\n");
	while ((size_t)(p - buf) < target) {
		if (cs == CS_INI && rng_chance(r, 1, 12)) {
			*p++ = '\n';
			*p++ = '[';
			p = put_str(p, PICK(r, words));
			*p++ = ']';
			*p++ = '\n';
		} else if (cs == CS_YAML && rng_chance(r, 1, 10)) {
			p = put_str(p, PICK(r, words));
			*p++ = ':';
			*p++ = '\n';
		}
		p = put_conf_line(p, r, cs);
	}
	return ((size_t)(p - buf));
}

static enum confstyle
conf_style(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot != NULL &&
	    (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0))
		return (CS_YAML);
	if (dot != NULL &&
	    (strcmp(dot, ".ini") == 0 || strcmp(dot, ".conf") == 0))
		return (CS_INI);
	return (CS_DIRECTIVE);
}

static int
write_file(const char *path, const char *buf, size_t n, mode_t mode,
    int64_t mtime, long nsec, int flags, struct fprint *fp)
{
	struct out o;

	if (out_open(&o, path, flags, fp) == -1)
		return (-1);
	if (out_put(&o, buf, n) == -1) {
		out_close(&o, mode, mtime, nsec);
		return (-1);
	}
	return (out_close(&o, mode, mtime, nsec));
}

static size_t
conf_size(struct rng *r)
{
	uint64_t u = rng_below(r, 100);

	if (u < 50)
		return ((size_t)(150 + rng_below(r, 450)));
	if (u < 85)
		return ((size_t)(600 + rng_below(r, 1600)));
	return ((size_t)(2200 + rng_below(r, 4000)));
}

static int
gen_etc(const char *dir, uint64_t seed, struct fprint *fp)
{
	char *dirs[CONF_DIRS];
	unsigned depth[CONF_DIRS];
	char path[PATH_MAX], rel[PATH_MAX], name[128];
	char *buf = xmalloc(CONF_MAX);
	struct rng r;
	size_t nd = 0, i, j;
	int rc = -1;

	rng_init(&r, seed, ST_CONF);
	dirs[nd] = xstrdup("etc");
	depth[nd++] = 0;
	for (i = 0; i < NELEM(etc_top); i++) {
		snprintf(rel, sizeof(rel), "etc/%s", etc_top[i]);
		dirs[nd] = xstrdup(rel);
		depth[nd++] = 1;
	}
	/* Nested directories below the top ones, at most 4 deep. */
	while (nd < CONF_DIRS) {
		size_t parent = 1 + (size_t)rng_below(&r, nd - 1);

		if (depth[parent] >= 4)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s%s", dirs[parent],
		    PICK(&r, words), rng_chance(&r, 1, 3) ? ".d" : "");
		for (j = 0; j < nd && strcmp(dirs[j], rel) != 0; j++)
			;
		if (j < nd)
			continue;
		dirs[nd] = xstrdup(rel);
		depth[nd++] = depth[parent] + 1;
	}
	for (i = 0; i < nd; i++) {
		if (join(path, sizeof(path), dir, dirs[i]) == -1 ||
		    mkdirs(path) == -1)
			goto out;
	}
	for (i = 0; i < CONF_FILES; i++) {
		size_t d = (size_t)rng_below(&r, nd);
		size_t n;
		mode_t mode = 0644;
		enum confstyle cs;
		int try;

		snprintf(name, sizeof(name), "%s-%s%s", PICK(&r, words),
		    PICK(&r, words), PICK(&r, conf_ext));
		cs = conf_style(name);
		if (rng_chance(&r, 1, 25))
			mode = 0600;
		else if (rng_chance(&r, 1, 30))
			mode = 0755;
		/* Names collide now and then: add a number, the same way
		 * every time. */
		for (try = 0;; try++) {
			if (try == 0)
				snprintf(rel, sizeof(rel), "%s/%s", dirs[d],
				    name);
			else
				snprintf(rel, sizeof(rel), "%s/%s.%d", dirs[d],
				    name, try);
			if (join(path, sizeof(path), dir, rel) == -1)
				goto out;
			if (access(path, F_OK) == -1)
				break;
		}
		n = gen_conf(buf, &r, rel, cs, conf_size(&r));
		if (write_file(path, buf, n, mode,
		        CORPUS_T0 - (int64_t)rng_below(&r, 3 * 365 * DAY),
		        (long)rng_below(&r, 1000000000), O_EXCL, fp) == -1)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < nd; i++)
		free(dirs[i]);
	free(buf);
	return (rc);
}

/* ---- walking a tree in a fixed order ----------------------------------- */

/* Called for each entry below the root: files before their directory's
 * end, each directory after its contents (so a directory's mtime can be
 * set last).  REL is relative to the root. */
typedef int (
    *walk_fn)(void *, const char *path, const char *rel, const struct stat *);

static int
cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
walk(const char *root, const char *rel, walk_fn fn, void *arg)
{
	char path[PATH_MAX], sub[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = -1;

	if (rel[0] == '\0')
		snprintf(path, sizeof(path), "%s", root);
	else if (join(path, sizeof(path), root, rel) == -1)
		return (-1);
	if ((d = opendir(path)) == NULL)
		return (fail("opendir %s:", path));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn;

			cap = cap == 0 ? 64 : cap * 2;
			if ((nn = realloc(names, cap * sizeof(*names))) ==
			    NULL) {
				fail("out of memory");
				goto out;
			}
			names = nn;
		}
		names[n++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		fail("readdir %s:", path);
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		if (rel[0] == '\0')
			snprintf(sub, sizeof(sub), "%s", names[i]);
		else if (join(sub, sizeof(sub), rel, names[i]) == -1)
			goto out;
		if (join(path, sizeof(path), root, sub) == -1)
			goto out;
		if (lstat(path, &st) == -1) {
			fail("lstat %s:", path);
			goto out;
		}
		if (S_ISDIR(st.st_mode) && walk(root, sub, fn, arg) == -1)
			goto out;
		if (fn(arg, path, sub, &st) == -1)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return (rc);
}

/* Directories: mode 0755 and an mtime that depends on the path only. */
static int
fix_dir(void *arg, const char *path, const char *rel, const struct stat *st)
{
	struct fprint *fp = arg;
	uint64_t h = fp_mix(0, rel, strlen(rel));

	if (!S_ISDIR(st->st_mode))
		return (0);
	fp->h = fp_mix(fp->h, rel, strlen(rel));
	if (chmod(path, 0755) == -1)
		return (fail("chmod %s:", path));
	return (set_mtime(path, CORPUS_T0 - DAY - (int64_t)(h % (90 * DAY)),
	    (long)(h % 1000000000)));
}

static int
is_empty_or_missing(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if ((d = opendir(dir)) == NULL)
		return (errno == ENOENT);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return (empty);
}

static int
cmd_generate(const char *dir, uint64_t seed, uint64_t size_mib)
{
	static const char *const subdirs[] = { "db", "var/log/nginx",
		"var/log/gasapp", "var/log/postgresql", "blobs/firmware",
		"blobs/vm", "blobs/media" };
	uint64_t total = size_mib * MIB;
	struct fprint fp = { seed, strlen(dir) + 1 };
	char path[PATH_MAX];
	struct timespec a, b;
	double secs;
	size_t i;

	if (!is_empty_or_missing(dir))
		return (
		    fail("%s exists and is not empty: remove it first", dir));
	clock_gettime(CLOCK_MONOTONIC, &a);
	umask(022);
	for (i = 0; i < NELEM(subdirs); i++)
		if (join(path, sizeof(path), dir, subdirs[i]) == -1 ||
		    mkdirs(path) == -1)
			return (-1);
	if (gen_sql(dir, seed, total * 55 / 100, &fp) == -1 ||
	    gen_logs(dir, seed, total * 25 / 100, &fp) == -1 ||
	    gen_blobs(dir, seed, total * 20 / 100, &fp) == -1 ||
	    gen_etc(dir, seed, &fp) == -1)
		return (-1);
	if (walk(dir, "", fix_dir, &fp) == -1)
		return (-1);
	if (chmod(dir, 0755) == -1)
		return (fail("chmod %s:", dir));
	if (set_mtime(dir, CORPUS_T0 - DAY, 0) == -1)
		return (-1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("corpus: seed %" PRIu64 ", %" PRIu64 " MiB in %s: %.2f s "
	       "(%.0f MiB/s), fingerprint %016" PRIx64 "\n",
	    seed, size_mib, dir, secs, (double)size_mib / secs, fp.h);
	return (0);
}

/* ---- day N: changes to an existing corpus ---------------------------------
 */

struct rd {
	int fd;
	const char *path;
	char *buf;
	size_t beg, end;
	int eof;
};

/* The next line, with its newline if it has one: 1, or 0 at the end. */
static int
rd_line(struct rd *r, char **line, size_t *len)
{
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(r->buf + r->beg, '\n', r->end - r->beg);
		if (nl != NULL) {
			*line = r->buf + r->beg;
			*len = (size_t)(nl + 1 - *line);
			r->beg += *len;
			return (1);
		}
		if (r->eof) {
			if (r->beg == r->end)
				return (0);
			*line = r->buf + r->beg;
			*len = r->end - r->beg;
			r->beg = r->end;
			return (1);
		}
		if (r->beg > 0) {
			memmove(r->buf, r->buf + r->beg, r->end - r->beg);
			r->end -= r->beg;
			r->beg = 0;
		}
		if (r->end == RD_CAP)
			return (fail("%s: a line longer than %u bytes", r->path,
			    RD_CAP));
		n = read(r->fd, r->buf + r->end, RD_CAP - r->end);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (fail("read %s:", r->path));
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

static int
rd_open(struct rd *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (fail("open %s:", path));
	r->buf = xmalloc(RD_CAP);
	return (0);
}

static void
rd_close(struct rd *r)
{
	if (r->fd != -1)
		close(r->fd);
	free(r->buf);
	r->buf = NULL;
	r->fd = -1;
}

static int
starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return (n >= k && memcmp(s, prefix, k) == 0);
}

/* The table a "COPY public.NAME (" line starts, or -1. */
static int
copy_table(const char *line, size_t len)
{
	size_t i, k;

	if (!starts(line, len, "COPY public."))
		return (-1);
	for (i = 0; i < NTABLES; i++) {
		k = strlen(tables[i].name);
		if (len > 12 + k && memcmp(line + 12, tables[i].name, k) == 0 &&
		    line[12 + k] == ' ')
			return ((int)i);
	}
	return (-1);
}

struct sqlscan {
	uint64_t rows; /* data rows, all tables */
	uint64_t nrows[NTABLES];
	uint64_t maxid[NTABLES];
};

static int
sql_scan(const char *path, struct sqlscan *s)
{
	struct rd r;
	char *line;
	size_t len;
	int t = -1, got;

	memset(s, 0, sizeof(*s));
	if (rd_open(&r, path) == -1)
		return (-1);
	while ((got = rd_line(&r, &line, &len)) == 1) {
		if (t == -1) {
			t = copy_table(line, len);
			continue;
		}
		if (starts(line, len, "\\.")) {
			t = -1;
			continue;
		}
		s->rows++;
		s->nrows[t]++;
		{
			uint64_t id = strtoull(line, NULL, 10);

			if (id > s->maxid[t])
				s->maxid[t] = id;
		}
	}
	rd_close(&r);
	return (got);
}

/* A region of rows [beg, end) where about half the rows are modified. */
struct region {
	uint64_t beg, end;
	int fixed; /* same-length edits only */
};

struct insert {
	uint64_t after; /* data row index */
	uint64_t n;
};

#define MAX_REGIONS 64
#define MAX_INSERTS 8
#define MAX_COLS    32

struct daystats {
	uint64_t rows, modified, same_len, inserted;
	unsigned nregions, ninserts;
	size_t conf_files, conf_edited, conf_touched;
	uint64_t log_bytes;
	size_t log_files;
};

/* Rewrite one row: one or two of the region's kind of column get new
 * values.  Returns the new length in dst, or 0 to keep the row as it is. */
static size_t
modify_row(char *dst, const char *line, size_t len, struct rowctx *x, size_t ti,
    int fixed)
{
	const struct table *t = &tables[ti];
	const char *f[MAX_COLS];
	size_t fl[MAX_COLS], nf = 0, c, cand[MAX_COLS], ncand = 0;
	unsigned want = fixed ? M_FIX : M_VAR;
	int pick[MAX_COLS] = { 0 };
	const char *s = line, *end = line + len;
	char *p = dst;
	uint64_t id;

	if (end > s && end[-1] == '\n')
		end--;
	while (nf < MAX_COLS) {
		const char *tab = memchr(s, '\t', (size_t)(end - s));

		f[nf] = s;
		fl[nf] = (size_t)((tab != NULL ? tab : end) - s);
		nf++;
		if (tab == NULL)
			break;
		s = tab + 1;
	}
	if (nf != t->ncols)
		return (0);
	for (c = 0; c < t->ncols; c++)
		if (t->cols[c].mut & want)
			cand[ncand++] = c;
	if (ncand == 0)
		return (0);
	pick[cand[rng_below(x->rng, ncand)]] = 1;
	if (rng_chance(x->rng, 1, 3))
		pick[cand[rng_below(x->rng, ncand)]] = 1;
	id = strtoull(f[0], NULL, 10);
	for (c = 0; c < nf; c++) {
		if (c > 0)
			*p++ = '\t';
		if (pick[c]) {
			p = gen_field(p, x, ti, id, t->cols[c].kind);
		} else {
			memcpy(p, f[c], fl[c]);
			p += fl[c];
		}
	}
	*p++ = '\n';
	return ((size_t)(p - dst));
}

static int
day_sql(const char *dir, uint64_t seed, int day, struct daystats *ds,
    struct fprint *fp)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], dbdir[PATH_MAX];
	struct region reg[MAX_REGIONS];
	struct insert ins[MAX_INSERTS];
	struct sqlscan sc;
	struct rowctx x;
	struct rng r;
	struct rd rd = { .fd = -1 };
	struct out o = { .fd = -1 };
	uint64_t g = 0, target, span, stratum, ninsert, nextid[NTABLES];
	unsigned nreg, nins, ri = 0, ii = 0, k;
	char *line;
	size_t len;
	int t = -1, got, rc = -1;

	if (join(path, sizeof(path), dir, SQL_PATH) == -1 ||
	    join(dbdir, sizeof(dbdir), dir, "db") == -1)
		return (-1);
	snprintf(tmp, sizeof(tmp), "%s.day-tmp", path);
	if (sql_scan(path, &sc) == -1)
		return (-1);
	if (sc.rows < 1000)
		return (fail("%s: only %" PRIu64 " rows: not a corpus dump?",
		    path, sc.rows));
	rng_init(&r, seed, ST_DAY + (uint64_t)day);
	memset(&x, 0, sizeof(x));
	x.rng = &r;
	x.clk.day = -1;
	memcpy(x.nrows, sc.nrows, sizeof(x.nrows));

	/* ~2% of the rows modified: a few dozen regions, one per stratum of
	 * the file, each twice as long as its share since half its rows
	 * change. */
	nreg = 28 + (unsigned)rng_below(&r, 17);
	target = sc.rows * 2 / 100;
	span = 2 * target / nreg;
	stratum = sc.rows / nreg;
	for (k = 0; k < nreg; k++) {
		reg[k].beg = k * stratum + rng_below(&r, stratum - span);
		reg[k].end = reg[k].beg + span;
		reg[k].fixed = rng_chance(&r, 1, 2);
	}
	/* ~0.6% of the rows inserted, at a few places. */
	nins = 3 + (unsigned)rng_below(&r, 4);
	ninsert = sc.rows * 6 / 1000;
	stratum = sc.rows / nins;
	for (k = 0; k < nins; k++) {
		ins[k].after = k * stratum + rng_below(&r, stratum);
		ins[k].n = ninsert / nins;
	}
	for (k = 0; k < NTABLES; k++)
		nextid[k] = sc.maxid[k] + 1;

	if (rd_open(&rd, path) == -1)
		goto out;
	if (out_open(&o, tmp, O_TRUNC, fp) == -1)
		goto out;
	while ((got = rd_line(&rd, &line, &len)) == 1) {
		char *p;
		size_t n = 0;

		if (out_reserve(&o) == -1)
			goto out;
		p = o.buf + o.len;
		if (t == -1) {
			t = copy_table(line, len);
			/* Keep the sequences in step with the new rows. */
			if (starts(line, len,
			        "SELECT pg_catalog.setval('public.")) {
				for (k = 0; k < NTABLES; k++) {
					char want[128];

					snprintf(want, sizeof(want),
					    "SELECT pg_catalog.setval('public."
					    "%s_id_seq', ",
					    tables[k].name);
					if (starts(line, len, want)) {
						n = (size_t)snprintf(p,
						    LINE_MAX_,
						    "%s%" PRIu64 ", true);\n",
						    want, nextid[k] - 1);
						break;
					}
				}
			}
		} else if (starts(line, len, "\\.")) {
			t = -1;
		} else {
			while (ri < nreg && g >= reg[ri].end)
				ri++;
			if (ri < nreg && g >= reg[ri].beg &&
			    rng_chance(&r, 1, 2) && len < LINE_MAX_ / 2) {
				/* A new value can equal the old one
				 * ("active" again): draw again, so that
				 * every counted row really changed. */
				for (k = 0; k < 4; k++) {
					n = modify_row(p, line, len, &x,
					    (size_t)t, reg[ri].fixed);
					if (n != len || memcmp(p, line, n) != 0)
						break;
					n = 0;
				}
				if (n > 0) {
					ds->modified++;
					if (n == len)
						ds->same_len++;
				}
			}
			if (n == 0) {
				memcpy(p, line, len);
				n = len;
			}
			o.len += n;
			o.bytes += n;
			n = 0;
			/* New rows after this one: a batch of the same
			 * table's rows. */
			while (ii < nins && ins[ii].after == g) {
				uint64_t m;

				for (m = 0; m < ins[ii].n; m++) {
					char *q;

					if (out_reserve(&o) == -1)
						goto out;
					p = o.buf + o.len;
					q = gen_row(p, &x, (size_t)t,
					    nextid[t]++);
					o.len += (size_t)(q - p);
					o.bytes += (uint64_t)(q - p);
				}
				ds->inserted += ins[ii].n;
				ii++;
			}
			g++;
			continue;
		}
		if (n == 0) {
			memcpy(p, line, len);
			n = len;
		}
		o.len += n;
		o.bytes += n;
	}
	if (got == -1)
		goto out;
	ds->rows = sc.rows;
	ds->nregions = nreg;
	ds->ninserts = nins;
	if (out_close(&o, 0640, CORPUS_T0 + day * DAY - 3 * 3600 + 17,
	        125000000) == -1)
		goto out;
	if (rename(tmp, path) == -1) {
		fail("rename %s:", tmp);
		goto out;
	}
	/* The rename changed db/: give it day N's time, like the dump job. */
	if (set_mtime(dbdir, CORPUS_T0 + day * DAY - 3 * 3600 + 18, 0) == -1)
		goto out;
	rc = 0;
out:
	if (o.fd != -1)
		out_close(&o, 0640, 0, 0);
	if (rc == -1)
		unlink(tmp);
	rd_close(&rd);
	return (rc);
}

struct pathlist {
	char **v;
	size_t n, cap;
};

static int
collect_files(void *arg, const char *path, const char *rel,
    const struct stat *st)
{
	struct pathlist *l = arg;

	(void)rel;
	if (!S_ISREG(st->st_mode))
		return (0);
	if (l->n == l->cap) {
		char **nv;

		l->cap = l->cap == 0 ? 1024 : l->cap * 2;
		if ((nv = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
			return (fail("out of memory"));
		l->v = nv;
	}
	l->v[l->n++] = xstrdup(path);
	return (0);
}

static int
read_small(const char *path, char *buf, size_t cap, size_t *len)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (fail("open %s:", path));
	while ((n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (n == -1)
		return (fail("read %s:", path));
	if (got == cap)
		return (fail("%s: larger than %zu bytes", path, cap - 1));
	*len = got;
	return (0);
}

/* Edit one config file in place: change a value, add a line or drop one. */
static int
edit_conf(const char *path, const struct stat *st, struct rng *r, int64_t mtime,
    long nsec, struct fprint *fp)
{
	char *in = xmalloc(CONF_MAX), *outb = xmalloc(CONF_MAX + LINE_MAX_);
	char *p = outb;
	size_t len = 0, nlines = 0, i, target, action;
	const char *s, *e;
	int rc = -1;

	if (read_small(path, in, CONF_MAX, &len) == -1)
		goto out;
	for (i = 0; i < len; i++)
		if (in[i] == '\n')
			nlines++;
	action = (size_t)rng_below(r, 20);
	target = nlines > 3 ? 3 + (size_t)rng_below(r, nlines - 3) : nlines;
	s = in;
	for (i = 0; s < in + len; i++) {
		e = memchr(s, '\n', (size_t)(in + len - s));
		e = e == NULL ? in + len : e + 1;
		if (i == target && action < 12) {
			/* Change the value after the separator (or the line).
			 */
			const char *sep = memchr(s, '=', (size_t)(e - s));

			if (sep == NULL)
				sep = memchr(s, ':', (size_t)(e - s));
			if (sep != NULL && *s != '#') {
				memcpy(p, s, (size_t)(sep + 1 - s));
				p += sep + 1 - s;
				*p++ = ' ';
				p = put_conf_value(p, r);
				*p++ = '\n';
			} else {
				p = put_conf_line(p, r, CS_INI);
			}
		} else if (i == target && action < 15 && nlines > 4) {
			/* drop the line */
		} else {
			memcpy(p, s, (size_t)(e - s));
			p += e - s;
		}
		s = e;
	}
	if (action >= 15 || nlines <= 3)
		p = put_conf_line(p, r, CS_INI);
	if (write_file(path, outb, (size_t)(p - outb), st->st_mode & 07777,
	        mtime, nsec, O_TRUNC, fp) == -1)
		goto out;
	rc = 0;
out:
	free(in);
	free(outb);
	return (rc);
}

static int
day_etc(const char *dir, uint64_t seed, int day, struct daystats *ds,
    struct fprint *fp)
{
	struct pathlist l = { NULL, 0, 0 };
	struct stat st;
	struct rng r;
	size_t want, i, j;
	int rc = -1;

	if (walk(dir, "etc", collect_files, &l) == -1)
		goto out;
	if (l.n == 0) {
		fail("%s/etc: no files: not a corpus?", dir);
		goto out;
	}
	rng_init(&r, seed, ST_DAY + (uint64_t)day + 0x10000);
	want = (l.n + 50) / 100;
	/* Partial Fisher-Yates: the first WANT entries become the sample. */
	for (i = 0; i < want; i++) {
		char *tmpp;

		j = i + (size_t)rng_below(&r, l.n - i);
		tmpp = l.v[i];
		l.v[i] = l.v[j];
		l.v[j] = tmpp;
	}
	for (i = 0; i < want; i++) {
		int64_t mtime =
		    CORPUS_T0 + (day - 1) * DAY + (int64_t)rng_below(&r, DAY);
		long nsec = (long)rng_below(&r, 1000000000);

		fp->h = fp_mix(fp->h, l.v[i] + fp->root_len,
		    strlen(l.v[i] + fp->root_len));
		if (lstat(l.v[i], &st) == -1) {
			fail("lstat %s:", l.v[i]);
			goto out;
		}
		if (rng_chance(&r, 1, 3)) {
			/* touched only: a package script or an admin's :wq
			 * without a change */
			if (set_mtime(l.v[i], mtime, nsec) == -1)
				goto out;
			ds->conf_touched++;
		} else {
			if (edit_conf(l.v[i], &st, &r, mtime, nsec, fp) == -1)
				goto out;
			ds->conf_edited++;
		}
	}
	ds->conf_files = l.n;
	rc = 0;
out:
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return (rc);
}

static int
day_logs(const char *dir, uint64_t seed, int day, struct daystats *ds,
    struct fprint *fp)
{
	char path[PATH_MAX];
	struct stat st;
	struct out o;
	struct rng r;
	uint64_t sizes[NLOGS], total = 0;
	size_t i;

	for (i = 0; i < NLOGS; i++) {
		if (join(path, sizeof(path), dir, logfiles[i].path) == -1)
			return (-1);
		if (stat(path, &st) == -1)
			return (fail("stat %s:", path));
		sizes[i] = (uint64_t)st.st_size;
		total += sizes[i];
	}
	for (i = 0; i < NLOGS; i++) {
		/* 1.6% of the logs, which are 25% of the corpus: 0.4% of
		 * it, "a few MB" a day at 1 GiB. */
		uint64_t add = sizes[i] * 16 / 1000;
		uint64_t before;

		rng_init(&r, seed, ST_DAY + (uint64_t)day + 0x20000 + i);
		if (join(path, sizeof(path), dir, logfiles[i].path) == -1)
			return (-1);
		if (out_open(&o, path, O_APPEND, fp) == -1)
			return (-1);
		before = o.bytes;
		if (gen_log_lines(&o, i, &r, add,
		        (CORPUS_T0 + (day - 1) * DAY) * 1000, DAY) == -1) {
			out_close(&o, 0640, 0, 0);
			return (-1);
		}
		ds->log_bytes += o.bytes - before;
		if (out_close(&o, 0640,
		        CORPUS_T0 + day * DAY - (int64_t)rng_below(&r, 600),
		        (long)rng_below(&r, 1000000000)) == -1)
			return (-1);
	}
	ds->log_files = NLOGS;
	(void)total;
	return (0);
}

static int
cmd_day(const char *dir, uint64_t seed, int day)
{
	struct daystats ds;
	struct fprint fp = { seed ^ (uint64_t)day, strlen(dir) + 1 };

	memset(&ds, 0, sizeof(ds));
	if (day < 1 || day > 3650)
		return (fail("--day: want 1..3650, not %d", day));
	if (day_sql(dir, seed, day, &ds, &fp) == -1 ||
	    day_etc(dir, seed, day, &ds, &fp) == -1 ||
	    day_logs(dir, seed, day, &ds, &fp) == -1)
		return (-1);
	printf("day %d: sql: %" PRIu64 " of %" PRIu64 " rows modified (%.2f%%) "
	       "in %u regions, %" PRIu64 " of them same-length; %" PRIu64
	       " rows inserted (%.2f%%) at %u places\n",
	    day, ds.modified, ds.rows,
	    100.0 * (double)ds.modified / (double)ds.rows, ds.nregions,
	    ds.same_len, ds.inserted,
	    100.0 * (double)ds.inserted / (double)ds.rows, ds.ninserts);
	printf("day %d: config: %zu files edited, %zu touched (mtime only), "
	       "of %zu (%.2f%%)\n",
	    day, ds.conf_edited, ds.conf_touched, ds.conf_files,
	    100.0 * (double)(ds.conf_edited + ds.conf_touched) /
	        (double)ds.conf_files);
	printf("day %d: logs: %" PRIu64 " bytes (%.1f MiB) appended to %zu "
	       "files\n",
	    day, ds.log_bytes, (double)ds.log_bytes / (double)MIB,
	    ds.log_files);
	printf("day %d: fingerprint %016" PRIx64 "\n", day, fp.h);
	return (0);
}

/* ---- --stats ------------------------------------------------------------ */

enum corpus_kind { CK_SQL, CK_LOGS, CK_BLOBS, CK_CONFIG, CK_OTHER, CK_N };
static const char *const kind_names[] = { "sql", "logs", "blobs", "config",
	"other" };

struct stats {
	uint64_t files[CK_N], bytes[CK_N];
	uint64_t dirs, conf_min, conf_max;
};

static enum corpus_kind
kind_of(const char *rel)
{
	if (strncmp(rel, "db/", 3) == 0)
		return (CK_SQL);
	if (strncmp(rel, "var/log/", 8) == 0)
		return (CK_LOGS);
	if (strncmp(rel, "blobs/", 6) == 0)
		return (CK_BLOBS);
	if (strncmp(rel, "etc/", 4) == 0)
		return (CK_CONFIG);
	return (CK_OTHER);
}

static int
count_entry(void *arg, const char *path, const char *rel, const struct stat *st)
{
	struct stats *s = arg;
	enum corpus_kind k = kind_of(rel);
	uint64_t size = (uint64_t)st->st_size;

	(void)path;
	if (S_ISDIR(st->st_mode)) {
		s->dirs++;
		return (0);
	}
	s->files[k]++;
	s->bytes[k] += size;
	if (k == CK_CONFIG) {
		if (s->files[k] == 1 || size < s->conf_min)
			s->conf_min = size;
		if (size > s->conf_max)
			s->conf_max = size;
	}
	return (0);
}

static int
cmd_stats(const char *dir)
{
	char path[PATH_MAX];
	struct sqlscan sc;
	struct stats s;
	uint64_t files = 0, bytes = 0;
	size_t k;

	memset(&s, 0, sizeof(s));
	if (walk(dir, "", count_entry, &s) == -1)
		return (-1);
	for (k = 0; k < CK_N; k++) {
		files += s.files[k];
		bytes += s.bytes[k];
	}
	/* A table bench/run reads: kind, files, bytes, share. */
	printf("kind\tfiles\tbytes\tshare\n");
	for (k = 0; k < CK_N; k++) {
		if (k == CK_OTHER && s.files[k] == 0)
			continue;
		printf("%s\t%" PRIu64 "\t%" PRIu64 "\t%.1f%%\n", kind_names[k],
		    s.files[k], s.bytes[k],
		    bytes == 0 ? 0.0
		               : 100.0 * (double)s.bytes[k] / (double)bytes);
	}
	printf("total\t%" PRIu64 "\t%" PRIu64 "\t100.0%%\n", files, bytes);
	if (join(path, sizeof(path), dir, SQL_PATH) == -1 ||
	    sql_scan(path, &sc) == -1)
		return (-1);
	printf("\nsql rows: %" PRIu64 " in %zu tables (", sc.rows, NTABLES);
	for (k = 0; k < NTABLES; k++)
		printf("%s%s %" PRIu64, k > 0 ? ", " : "", tables[k].name,
		    sc.nrows[k]);
	printf(")\n");
	printf("config files: %" PRIu64 ", %" PRIu64 " to %" PRIu64
	       " bytes, mean %" PRIu64 "; directories in the corpus: %" PRIu64
	       "\n",
	    s.files[CK_CONFIG], s.conf_min, s.conf_max,
	    s.files[CK_CONFIG] == 0 ? 0
	                            : s.bytes[CK_CONFIG] / s.files[CK_CONFIG],
	    s.dirs);
	return (0);
}

/* ---- main --------------------------------------------------------------- */

static const char usage[] =
    "usage: corpus [-s SEED] [-S SIZE_MIB] DIR   write a new corpus "
    "(default 1024 MiB)\n"
    "       corpus [-s SEED] --day N DIR         apply day N of changes\n"
    "       corpus --stats DIR                   sizes and counts per kind\n";

static int
parse_u64(const char *s, const char *what, uint64_t max, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *v > max || s[0] == '-')
		return (fail("%s: not a number up to %" PRIu64 ": %s", what,
		    max, s));
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'S' },
		{ "day", required_argument, NULL, 'd' },
		{ "stats", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed = 1, size = 1024, day = 0;
	int ch, stats = 0, have_day = 0, rc;

	while ((ch = getopt_long(argc, argv, "s:S:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_u64(optarg, "-s", UINT64_MAX, &seed) == -1)
				return (2);
			break;
		case 'S':
			if (parse_u64(optarg, "-S", 1 << 20, &size) == -1)
				return (2);
			if (size < 4) {
				fail("-S: at least 4 MiB");
				return (2);
			}
			break;
		case 'd':
			if (parse_u64(optarg, "--day", 3650, &day) == -1)
				return (2);
			have_day = 1;
			break;
		case 't':
			stats = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return (0);
		default:
			fputs(usage, stderr);
			return (2);
		}
	}
	if (optind + 1 != argc || (stats && have_day)) {
		fputs(usage, stderr);
		return (2);
	}
	if (stats)
		rc = cmd_stats(argv[optind]);
	else if (have_day)
		rc = cmd_day(argv[optind], seed, (int)day);
	else
		rc = cmd_generate(argv[optind], seed, size);
	if (fflush(stdout) == EOF)
		rc = fail("stdout:");
	return (rc == -1 ? 1 : 0);
}
