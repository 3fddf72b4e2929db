/*
 * coffer: the subcommand table, global options, signals and exit codes.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "fmt.h"
#include "fs/walk.h"
#include "repo/compress.h"
#include "repo/oplog.h"
#include "repo_opts.h"
#include "snapshot/fcache.h"
#include "store/store.h"
#include "xmalloc.h"

static volatile sig_atomic_t interrupted;

/*
 * The lock files this process holds in local repositories (cli_lock_held),
 * removed by on_quick_exit when it ends abruptly.  Fixed slots, so that
 * neither registering nor removing allocates; the mutex because the lock's
 * thread registers while another one may run out of memory.
 */
#define HELD_MAX 4
static struct held {
	const struct lock *lk; /* NULL: a free slot */
	size_t rootlen;        /* the repository's absolute path */
	char path[PATH_MAX];   /* root, '/', the lock file's name */
} held[HELD_MAX];
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

const struct cli_cmd cli_commands[] = {
	{ "check",
	    "verify a repository: structure, and with --read-data every byte",
	    "usage: coffer check -r REPO [--read-data | --read-data-subset "
	    "N%|K/N]\n"
	    "                    [--compare-config REF] [--no-lock] [--json]\n"
	    "\n"
	    "Check that the repository's key files, index files, packs and "
	    "snapshots\n"
	    "are all there and intact, and that every tree of every snapshot "
	    "loads\n"
	    "and names only blobs the index holds.  With --read-data, also "
	    "read\n"
	    "every pack and verify every byte: its hash, its header against "
	    "the\n"
	    "index, and each blob's authentication and id.  Each problem is "
	    "one\n"
	    "line naming the file, what is wrong and what to do; the check "
	    "goes on\n"
	    "to the end.  Exit status 0 when no errors were found (warnings "
	    "are\n"
	    "fine), 4 when the repository is damaged.\n"
	    "\n"
	    "  -r, --repo REPO           the repository (path, sftp:// URL or "
	    "NAME)\n"
	    "      --read-data           read and verify every pack\n"
	    "      --read-data-subset N% read N percent of the packs, chosen "
	    "at random\n"
	    "      --read-data-subset K/N  read slice K of N (by pack id; the "
	    "N slices\n"
	    "                            together cover every pack once)\n"
	    "      --compare-config REF  first make sure the config file is "
	    "the one\n"
	    "                            of REF (a copy's original), else "
	    "exit 4\n"
	    "      --no-lock             take no lock (an append-only or "
	    "read-only\n"
	    "                            copy, where lock files cannot be "
	    "removed)\n"
	    "      --json                print the problems and figures as "
	    "JSON\n",
	    cmd_check },
	{ "config", "check a configuration file and print what it resolves to",
	    "usage: coffer config check [-c FILE] [--json]\n"
	    "\n"
	    "Parse and validate the configuration file "
	    "(default " CLI_DEFAULT_CONFIG ")\n"
	    "and print every section with its resolved settings.  Errors name\n"
	    "FILE:LINE and the key.  Password files named by repositories are\n"
	    "checked for existence and safe permissions; no secret is "
	    "printed.\n"
	    "\n"
	    "  -c, --config FILE   the configuration file\n"
	    "      --json          print the resolved settings as JSON\n",
	    cmd_config },
	{ "diff", "show what changed between two snapshots",
	    "usage: coffer diff -r REPO [--metadata] [--no-lock] [--json] "
	    "SNAP1 SNAP2\n"
	    "\n"
	    "List the paths added (+), removed (-) and modified (M: other\n"
	    "content, size or type) from SNAP1 to SNAP2, in tree order, then\n"
	    "one line of counts.  Directories end in '/'.  Directories that\n"
	    "are the same in both are not read.  A snapshot is 'latest' or\n"
	    "at least 4 hex digits of its id.\n"
	    "\n"
	    "  -r, --repo REPO   the repository\n"
	    "      --metadata    also list entries whose mode, owner, mtime,\n"
	    "                    xattrs, ACLs or flags changed (m)\n"
	    "      --no-lock     take no lock (an append-only or read-only\n"
	    "                    copy, where lock files cannot be removed)\n"
	    "      --json        print {\"changes\": [...], \"added\": N, "
	    "...}\n",
	    cmd_diff },
	{ "drill", "run a [drill NAME] now: restore, verify, check, RTO/RPO",
	    "usage: coffer drill run NAME [--json]\n"
	    "       coffer drill list [--json]\n"
	    "\n"
	    "Run the config's [drill NAME] now: restore the snapshot it picks\n"
	    "to its target (a directory, sqlite, postgres-scratch,\n"
	    "postgres:CONNINFO, mysql-scratch or mysql:DB), verify it, run its\n"
	    "sql_checks and checks, measure RTO and RPO against max_rto and\n"
	    "max_rpo, and remove what it made, pass or fail.  A failed drill\n"
	    "runs on_failure and exits\n"
	    "14.  The run is recorded in the state database; list shows each\n"
	    "drill's last result, RTO and RPO from there.\n"
	    "\n"
	    "      --json              the result, each stage and check as "
	    "JSON\n",
	    cmd_drill },
	{ "forget", "apply a keep policy: move the snapshots it drops aside",
	    "usage: coffer forget -r REPO [--keep-last N] [--keep-hourly N] "
	    "[--keep-daily N]\n"
	    "                     [--keep-weekly N] [--keep-monthly N] "
	    "[--keep-yearly N]\n"
	    "                     [--keep-within DURATION] [--keep-tag "
	    "TAG]...\n"
	    "                     [--group-by LIST] [--dry-run] [--yes] "
	    "[--json]\n"
	    "       coffer forget [-c FILE] --job NAME [-r REPO] [--dry-run] "
	    "...\n"
	    "       coffer forget -r REPO [--dry-run] [--yes] SNAPSHOT...\n"
	    "       coffer forget -r REPO --undo ID\n"
	    "\n"
	    "Group the snapshots (by host and paths unless --group-by says "
	    "otherwise),\n"
	    "keep in each group what the rules keep, and move the manifests "
	    "of the\n"
	    "others to forgotten/, where no listing sees them; their data "
	    "stays until\n"
	    "prune, and --undo ID brings one back.  Incomplete snapshots (a "
	    "source\n"
	    "failed, entries were skipped) count toward no rule; the newest "
	    "complete\n"
	    "snapshot of a group is always kept.  Every snapshot is printed "
	    "with\n"
	    "keep or remove and the rules that keep it.  On a terminal the "
	    "plan is\n"
	    "shown and confirmed first, unless --yes.  A repository that "
	    "refuses\n"
	    "removals (an append-only copy) is refused before anything "
	    "moves.\n"
	    "\n"
	    "  -r, --repo REPO         the repository (path, sftp:// URL, "
	    "NAME)\n"
	    "      --keep-last N       the N newest\n"
	    "      --keep-hourly N     the newest of each of the N newest "
	    "hours\n"
	    "      --keep-daily N      ... days, --keep-weekly N ISO weeks,\n"
	    "      --keep-monthly N    ... months, --keep-yearly N years\n"
	    "      --keep-within DURATION  all at most DURATION (7d, 36h, "
	    "2w)\n"
	    "                          older than the newest of the group\n"
	    "      --keep-tag TAG      all with the tag TAG (repeatable)\n"
	    "      --group-by LIST     host, paths, sources, tags, comma "
	    "separated,\n"
	    "                          or none (default: host,paths)\n"
	    "      --job NAME          the keep_* keys (and the repository) "
	    "of a\n"
	    "                          [job NAME]; --keep-* options override "
	    "them\n"
	    "  -n, --dry-run           print the plan, change nothing\n"
	    "      --yes               do not ask on a terminal\n"
	    "      --undo ID           bring a forgotten snapshot back\n"
	    "      --json              print the plan (and what was removed) "
	    "as JSON\n",
	    cmd_forget },
	{ "help", "list the commands, or show one command's help",
	    "usage: coffer help [COMMAND]\n"
	    "\n"
	    "Without COMMAND, list every command with one line each.  With\n"
	    "COMMAND, print the same text as 'coffer COMMAND --help'.  The\n"
	    "manual pages are coffer(1), coffer-COMMAND(1), coffer.conf(5).\n",
	    cmd_help },
	{ "init", "create a repository",
	    "usage: coffer init -r REPO [--machine-key FILE] [--compression "
	    "N]\n"
	    "                   [--chunk-size SIZE] [--pack-size SIZE]\n"
	    "\n"
	    "Create a repository at REPO (a path, an sftp://[user@]host"
	    "[:port]/path\n"
	    "URL, or the NAME of a [repository NAME] section) with its first "
	    "key.\n"
	    "The passphrase is asked twice\n"
	    "on the terminal, or read from "
	    "--password-file/--password-command/\n"
	    "COFFER_PASSWORD_FILE or the section's password_file.\n"
	    "\n"
	    "  -r, --repo REPO       where to create it\n"
	    "      --machine-key FILE  key the repository with a random "
	    "machine\n"
	    "                        key in FILE (made, mode 0600, if "
	    "missing)\n"
	    "                        instead of a passphrase: for cron jobs\n"
	    "      --compression N   zstd level for new data, 1-19 (default "
	    "3)\n"
	    "      --chunk-size SIZE average chunk size (default 256K)\n"
	    "      --pack-size SIZE  target pack file size (default 16M)\n"
	    "      --json            print id and location as JSON\n",
	    cmd_init },
	{ "job", "run a [job NAME] now: snapshot, forget, replicate, check",
	    "usage: coffer job run NAME [--prune] [--json]\n"
	    "\n"
	    "Run the steps of the config's [job NAME] now, in order: snapshot\n"
	    "its sources; forget (when it sets keep_*), replicate (when it\n"
	    "sets replicate) and check a rotating slice of the packs (when it\n"
	    "sets check) after a successful snapshot.  timeout stops the\n"
	    "running step; on_failure or on_success runs after; the run is\n"
	    "recorded for 'coffer scheduler history'.  A second run of the\n"
	    "same job while one runs fails at once (exit 13).  A step waits\n"
	    "up to lock_wait (default 10m) for another process's repository\n"
	    "lock, then is skipped as locked; a run whose first step is\n"
	    "skipped so did nothing and exits 11.\n"
	    "\n"
	    "      --prune             prune the job's repository instead, as\n"
	    "                          its prune_schedule does\n"
	    "      --json              the result and each step as JSON\n",
	    cmd_job },
	{ "log", "show the repository's log of the changes made to it",
	    "usage: coffer log -r REPO [--since DURATION] [--last N] "
	    "[--no-lock] [--json]\n"
	    "\n"
	    "List the repository's operations log, oldest first: one line "
	    "per\n"
	    "change made to it (init, snapshot, forget, undo, key changes,\n"
	    "rebuild-index, ...), with its time (UTC), user@host, the "
	    "operation,\n"
	    "ok or failed (with the error), the snapshots and keys it "
	    "touched,\n"
	    "its figures and the command line that ran it.  Each record is "
	    "sealed\n"
	    "with the repository's key; one that cannot be read is named on\n"
	    "stderr and left out (exit status 4).\n"
	    "\n"
	    "  -r, --repo REPO       the repository (path, sftp:// URL or "
	    "NAME)\n"
	    "      --since DURATION  only records at most DURATION old (7d, "
	    "36h)\n"
	    "      --last N          only the N newest records\n"
	    "      --no-lock         take no lock (an append-only or "
	    "read-only\n"
	    "                        copy, where lock files cannot be "
	    "removed)\n"
	    "      --json            an array with every field of each "
	    "record\n",
	    cmd_log },
	{ "ls", "list the files in a snapshot",
	    "usage: coffer ls -r REPO [-lR] [--no-lock] [--json] [--before "
	    "TIME]\n"
	    "                 SNAP [PATH]\n"
	    "\n"
	    "List the directory PATH (default: the top) of snapshot SNAP, by\n"
	    "name, like ls(1); a PATH that is not a directory lists itself.\n"
	    "SNAP is 'latest' or at least 4 hex digits of an id.  Names are\n"
	    "printed with C escapes (\\n, \\xHH) where they hold control\n"
	    "characters or bytes that are not UTF-8.\n"
	    "\n"
	    "  -r, --repo REPO   the repository\n"
	    "  -l, --long        mode, owner, group, size, mtime (UTC), name,\n"
	    "                    and '-> target' for symlinks\n"
	    "  -R, --recursive   everything below PATH, as full paths\n"
	    "      --no-lock     take no lock (an append-only or read-only\n"
	    "                    copy, where lock files cannot be removed)\n"
	    "      --json        an array of objects, one per entry\n"
	    "      --before TIME only snapshots from before TIME, as restore\n"
	    "                    takes it ('latest' is the newest of them)\n",
	    cmd_ls },
	{ "key", "add, list and remove the keys that open a repository",
	    "usage: coffer key add [--machine-key FILE | --new-password-file "
	    "FILE] -r REPO\n"
	    "       coffer key list -r REPO [--json]\n"
	    "       coffer key remove ID -r REPO\n"
	    "       coffer key passwd [--machine-key FILE | "
	    "--new-password-file FILE] -r REPO\n"
	    "\n"
	    "Each passphrase or machine key that opens the repository is one "
	    "key\n"
	    "file; all of them unlock the same data.  The repository is "
	    "opened\n"
	    "with the current passphrase (--password-file, "
	    "--password-command,\n"
	    "COFFER_PASSWORD_FILE, the section's password_file, or the "
	    "terminal).\n"
	    "\n"
	    "  add      add a key: a new passphrase (asked twice, or read "
	    "from\n"
	    "           --new-password-file) or a machine key (--machine-key "
	    "FILE,\n"
	    "           made with mode 0600 if missing)\n"
	    "  list     one line per key file: id, kind, when, host, user; "
	    "'*' marks\n"
	    "           the key that opened the repository\n"
	    "  remove   remove the key file whose id starts with ID (4 or "
	    "more hex\n"
	    "           digits); never the key in use, never the last one\n"
	    "  passwd   replace the key in use: add the new one, check that "
	    "it opens\n"
	    "           the repository, then remove the old one\n"
	    "\n"
	    "  -r, --repo REPO               the repository\n"
	    "      --machine-key FILE        the new key is the machine key "
	    "in FILE\n"
	    "      --new-password-file FILE  read the new passphrase from "
	    "FILE\n"
	    "      --json                    machine-readable output\n",
	    cmd_key },
	{ "report", "the KPI report: success rate, RPO/RTO, failures, growth",
	    "usage: coffer report [--since DURATION] [--json | --html FILE]\n"
	    "                     [--state-dir DIR]\n"
	    "\n"
	    "Report what the scheduler's history says of each [job] and\n"
	    "[drill] over the window: runs, success rate, the last failures\n"
	    "and why, RPO and RTO against their limits, durations, and the\n"
	    "repositories' growth.  Exit 14 when a job or drill needs\n"
	    "attention (as scheduler status: overdue, or its last run\n"
	    "failed).\n"
	    "\n"
	    "      --since DURATION    the window, ending now (default 90d)\n"
	    "      --json              one JSON document\n"
	    "      --html FILE         write one self-contained HTML file\n"
	    "                          with SVG charts\n"
	    "      --state-dir DIR     the state database's directory\n"
	    "                          (default: [global] state_dir)\n",
	    cmd_report },
	{ "restore",
	    "restore a snapshot to a directory, a tar stream, stdout or a "
	    "database",
	    "usage: coffer restore -r REPO SNAP --target DIR [--include "
	    "PATH]...\n"
	    "                      [--exclude PATTERN]... [--overwrite] "
	    "[--numeric-owner]\n"
	    "                      [--no-devices] [--no-sync]\n"
	    "       coffer restore -r REPO SNAP --tar FILE|- [--include "
	    "PATH]...\n"
	    "                      [--exclude PATTERN]... [--numeric-owner]\n"
	    "                      [--no-devices]\n"
	    "       coffer restore -r REPO SNAP --stdout PATH\n"
	    "       coffer restore -r REPO SNAP --source NAME --stdout\n"
	    "       coffer restore -r REPO SNAP --source NAME --to-postgres "
	    "CONNINFO\n"
	    "                      [--create] [--clean] [--globals] "
	    "[--no-owner] [--jobs N]\n"
	    "       coffer restore -r REPO SNAP --source NAME --to-mysql DB\n"
	    "                      [--defaults-file FILE] [--create] "
	    "[--clean]\n"
	    "\n"
	    "Restore snapshot SNAP ('latest' or a unique id prefix) into DIR,\n"
	    "as a pax tar stream (xattrs, ACLs, sparse files) that any tar\n"
	    "reads, or write one file's bytes to standard output.  PATHs are\n"
	    "absolute, as snapshotted (/etc/fstab).  A file whose data is\n"
	    "damaged or missing is named on stderr and left out, never\n"
	    "restored in part; the rest is restored.  Exit status 4 when\n"
	    "anything was damaged, 3 when other entries failed.\n"
	    "\n"
	    "With --source, --target and --tar restore that source's subtree\n"
	    "(/NAME/...) as the top, and a bare --stdout writes its dump.  A\n"
	    "database source goes into a server through pg_restore (one\n"
	    "transaction: damage or a failure commits nothing) or the\n"
	    "mariadb client (the dump is checked whole first).\n"
	    "\n"
	    "  -r, --repo REPO         the repository (path, sftp:// URL, "
	    "NAME)\n"
	    "      --before TIME       only snapshots from before TIME "
	    "(2026-12-01,\n"
	    "                          2026-12-01T02:30 in UTC, ...+02:00, "
	    "or an age: 2d)\n"
	    "  -t, --target DIR        restore into DIR (made if missing)\n"
	    "      --tar FILE|-        write a tar stream to FILE or stdout\n"
	    "      --stdout [PATH]     write the file PATH to stdout (with\n"
	    "                          --source and no PATH: its dump)\n"
	    "      --source NAME       restore the source NAME of the "
	    "snapshot\n"
	    "      --to-postgres CONNINFO  pg_restore into the database of\n"
	    "                          CONNINFO (dbname=NAME host=... "
	    "user=...;\n"
	    "                          passwords from ~/.pgpass or "
	    "PGPASSWORD)\n"
	    "      --to-mysql DB       load into the MariaDB/MySQL database "
	    "DB\n"
	    "      --defaults-file FILE  client settings and credentials for\n"
	    "                          --to-mysql\n"
	    "      --create            make the database first (it must not "
	    "exist;\n"
	    "                          it is dropped again if the restore "
	    "fails)\n"
	    "      --clean             restore into a database that is not "
	    "empty,\n"
	    "                          replacing the objects the dump holds\n"
	    "      --globals           replay the source's roles first "
	    "(postgres)\n"
	    "      --no-owner          pg_restore --no-owner: objects owned "
	    "by\n"
	    "                          the user restoring\n"
	    "      --jobs N            pg_restore -j N from a temp copy of "
	    "the\n"
	    "                          dump (checked whole before it starts)\n"
	    "      --include PATH      restore only PATH and what is below "
	    "it,\n"
	    "                          with its parent directories "
	    "(repeatable)\n"
	    "      --exclude PATTERN   leave out paths or names matching the\n"
	    "                          fnmatch(3) PATTERN (repeatable)\n"
	    "      --overwrite         restore into a DIR that is not empty,\n"
	    "                          replacing what is there; replace FILE\n"
	    "      --numeric-owner     owners by uid/gid, ignoring the names\n"
	    "      --no-devices        leave out FIFOs and device nodes, with\n"
	    "                          a warning each\n"
	    "      --no-sync           into a DIR: no syncfs(2) at the end\n"
	    "      --no-lock           take no lock: for a repository that\n"
	    "                          cannot be written\n"
	    "      --json              print the outcome as JSON\n",
	    cmd_restore },
	{ "scheduler", "run jobs on their schedules; their state and history",
	    "usage: coffer scheduler tick [--now TIME] [--job NAME]\n"
	    "       coffer scheduler run\n"
	    "       coffer scheduler status [--now TIME] [--json]\n"
	    "       coffer scheduler history [JOB] [--since DURATION] "
	    "[--json]\n"
	    "\n"
	    "tick runs every [job] whose schedule is due and not yet run,\n"
	    "one after another (from cron, every minute); after downtime a\n"
	    "job runs once.  run does the same as a foreground daemon\n"
	    "(SIGHUP reloads the config, SIGTERM stops it after the running\n"
	    "step).  status shows each job's last run, next due time and RPO,\n"
	    "exit 14 when a job is overdue or its last run failed.  history\n"
	    "lists the runs recorded, oldest first, with each step.\n"
	    "\n"
	    "      --now TIME          act as if it were TIME (ISO 8601, UTC\n"
	    "                          unless it has an offset)\n"
	    "      --job NAME          tick: only this job\n"
	    "      --since DURATION    history: only runs started within it\n"
	    "      --json              status: one JSON document; history:\n"
	    "                          one JSON object per run\n",
	    cmd_scheduler },
	{ "snapshot", "snapshot file trees and databases into a repository",
	    "usage: coffer snapshot -r REPO [--tag TAG] [--exclude PATTERN]\n"
	    "                       [--one-file-system] [--no-cache] PATH...\n"
	    "       coffer snapshot [-c FILE] [-r REPO] [--source NAME]...\n"
	    "                       [--postgres CONNINFO]... [--mysql DB]...\n"
	    "                       [--defaults-file F] [--sqlite PATH]...\n"
	    "                       [--command CMD --name NAME]... [PATH...]\n"
	    "       coffer snapshot [-c FILE] --job NAME\n"
	    "       coffer snapshot -r REPO [--tag TAG] --from-tar FILE|-\n"
	    "\n"
	    "Store PATHs (directories or files) as one snapshot: "
	    "deduplicated,\n"
	    "compressed and encrypted.  Unchanged files are not read again "
	    "(the\n"
	    "files cache).  A file that changes while read is read once more;\n"
	    "if it still changes it is stored as read and listed as\n"
	    "inconsistent.  Entries that cannot be read are skipped and "
	    "listed.\n"
	    "Either makes the exit status 3.\n"
	    "\n"
	    "With sources, the snapshot holds one directory per source: a\n"
	    "files source's paths below /NAME, a dump (/NAME/DB.pgdump,\n"
	    "/NAME/DB.sql), a SQLite backup copy, or a command's output\n"
	    "(/NAME/NAME), streamed into the repository.  A source that fails\n"
	    "is left out and recorded; exit 3 when some failed, 1 when all\n"
	    "did (nothing saved).  Hooks run before and after each source.\n"
	    "\n"
	    "With --from-tar, a tar stream (a file, or - for standard input)\n"
	    "is the snapshot: its members, deduplicated like files.  Members\n"
	    "that cannot be taken safely ('..', a path through a symlink, a\n"
	    "duplicate) are refused, one line each: exit status 3.\n"
	    "\n"
	    "  -r, --repo REPO         the repository (path, sftp:// URL, "
	    "NAME)\n"
	    "      --source NAME       a [source NAME] of the config "
	    "(repeatable)\n"
	    "      --job NAME          the sources, repository and hooks of a\n"
	    "                          [job NAME]\n"
	    "      --postgres CONNINFO dump the PostgreSQL database it names\n"
	    "                          (no password: use ~/.pgpass)\n"
	    "      --mysql DB          dump a MariaDB/MySQL database\n"
	    "      --defaults-file F   client option file for --mysql\n"
	    "      --sqlite PATH       back up a SQLite database\n"
	    "      --command CMD --name NAME\n"
	    "                          store CMD's stdout as /NAME/NAME\n"
	    "      --tag TAG           label the snapshot (repeatable)\n"
	    "      --exclude PATTERN   leave out paths or names matching the\n"
	    "                          fnmatch(3) PATTERN (repeatable)\n"
	    "      --one-file-system   do not cross into other file systems\n"
	    "      --no-cache          read every file\n"
	    "      --cache-dir DIR     where the files cache lives\n"
	    "      --from-tar FILE     store the tar stream FILE (- : stdin)\n"
	    "      --compression N     zstd level 1-19 for this snapshot's "
	    "new\n"
	    "                          data (default: the repository's; 6 for\n"
	    "                          database dumps)\n"
	    "      --json              print the saved snapshot as JSON\n",
	    cmd_snapshot },
	{ "snapshots", "list the snapshots in a repository",
	    "usage: coffer snapshots -r REPO [--no-lock] [--json]\n"
	    "                        [--tag T[,T...]] [--host H] [--path P]\n"
	    "                        [--job NAME]\n"
	    "\n"
	    "List the snapshots, oldest first: id, time (UTC), host, tags,\n"
	    "paths, files, size, the bytes the snapshot added to the\n"
	    "repository, and how many files changed while read or were\n"
	    "skipped.  The options may be repeated.\n"
	    "\n"
	    "  -r, --repo REPO   the repository\n"
	    "      --tag T[,T]   only snapshots with all of these tags (with\n"
	    "                    several --tag: with all of one of them)\n"
	    "      --host H      only snapshots taken on H (or another "
	    "--host)\n"
	    "      --path P      only snapshots of P (and every other --path)\n"
	    "      --job NAME    only snapshots taken by 'snapshot --job "
	    "NAME'\n"
	    "                    or 'job run NAME' (or another --job)\n"
	    "      --no-lock     take no lock (an append-only or read-only\n"
	    "                    copy, where lock files cannot be removed)\n"
	    "      --json        an array with every field of each snapshot\n",
	    cmd_snapshots },
	{ "unlock", "show repository locks, remove those whose holder is gone",
	    "usage: coffer unlock -r REPO [--remove-stale] [--json]\n"
	    "\n"
	    "List the repository's locks: holder, host, pid, command, state.\n"
	    "Commands remove locks of processes that provably died on this\n"
	    "host by themselves; a lock from another host that missed its\n"
	    "refresh deadline is only reported.  --remove-stale removes those\n"
	    "and unreadable ones: use it once you know the holder is gone.\n"
	    "Needs no passphrase.\n"
	    "\n"
	    "  -r, --repo REPO     the repository\n"
	    "      --remove-stale  remove dead, stale and unreadable locks\n"
	    "      --json          print the locks as JSON\n",
	    cmd_unlock },
	{ "prune", "delete the data no snapshot needs, in two phases",
	    "usage: coffer prune -r REPO [--max-unused PCT] "
	    "[--max-repack-size SIZE]\n"
	    "                    [--dry-run] [--yes] [--json]\n"
	    "       coffer prune -r REPO --apply PLAN [--json]\n"
	    "\n"
	    "Finish earlier prunes whose margin has passed (delete the packs "
	    "they\n"
	    "marked, except those a snapshot needs again), then mark what no "
	    "snapshot\n"
	    "in snapshots/ needs: write a new index without those packs and "
	    "a record\n"
	    "for the next prune, which deletes them once the margin (1 h) has "
	    "passed\n"
	    "by this host's clock and the store's.  Packs with more unused "
	    "data than\n"
	    "--max-unused are repacked first.  Forgotten snapshots are "
	    "removed.  On a\n"
	    "terminal the plan is shown and confirmed first, unless --yes.  "
	    "Takes the\n"
	    "exclusive lock; refused on a copy that refuses removals.\n"
	    "\n"
	    "  -r, --repo REPO         the repository (path, sftp:// URL, "
	    "NAME)\n"
	    "      --max-unused PCT    repack packs with more unused bytes "
	    "(5%)\n"
	    "      --max-repack-size SIZE  copy at most SIZE of used blobs "
	    "(no limit)\n"
	    "  -n, --dry-run           print the plan, change nothing\n"
	    "      --yes               do not ask on a terminal\n"
	    "      --json              print the plan (and what was done) as "
	    "JSON\n"
	    "      --apply PLAN        do exactly what --dry-run --json wrote "
	    "to PLAN,\n"
	    "                          or nothing if the repository changed "
	    "(exit 2)\n",
	    cmd_prune },
	{ "rebuild-index", "rebuild the index from the packs' own headers",
	    "usage: coffer rebuild-index -r REPO [--json]\n"
	    "\n"
	    "Read the sealed header of every pack, write new index files that\n"
	    "name every blob of every readable pack, then remove the old "
	    "index\n"
	    "files.  Use it when check reports a damaged or missing index "
	    "file,\n"
	    "packs that no index names, or an index naming a pack that is "
	    "gone.\n"
	    "A damaged pack is left out and reported (exit status 4).  Holds\n"
	    "the exclusive lock.\n"
	    "\n"
	    "  -r, --repo REPO   the repository\n"
	    "      --json        print what was done as JSON\n",
	    cmd_rebuild_index },
	{ "replicate", "copy what another repository lacks (off-site copy)",
	    "usage: coffer replicate --from SRC --to DST [-j N] [--dry-run] "
	    "[--verify]\n"
	    "                        [--no-lock] [--json]\n"
	    "       coffer replicate NAME [--from SRC] ...\n"
	    "\n"
	    "Copy to DST every repository file it lacks: key files, the "
	    "config\n"
	    "(when DST has none), packs, index files, then snapshots, so "
	    "that DST\n"
	    "is a valid repository at every moment.  No passphrase is needed: "
	    "each\n"
	    "file is checked against its SHA-256 name before it is sent, and "
	    "a\n"
	    "damaged one is reported and never sent.  Nothing on DST is ever\n"
	    "removed or replaced; an interrupted run leaves only temp files, "
	    "and\n"
	    "a re-run sends only what is missing.  SRC and DST are paths, "
	    "sftp://\n"
	    "URLs or NAMEs of [repository NAME] sections, in either "
	    "direction.\n"
	    "With NAME alone, DST is NAME and SRC the repository of the "
	    "[job]s\n"
	    "that have replicate = NAME; or NAME is a [job] and its "
	    "repository is\n"
	    "copied to its replicate = target.  Exit status 4 when a file was "
	    "damaged\n"
	    "(the rest was copied), 5 on a network failure, 2 when DST is "
	    "another\n"
	    "repository.\n"
	    "\n"
	    "      --from SRC    the repository to copy from\n"
	    "      --to DST      the repository to copy to (made if missing)\n"
	    "  -j, --jobs N      files in flight at once, 1-64 (default: the "
	    "sftp://\n"
	    "                    side's transfers setting, else 4)\n"
	    "  -n, --dry-run     list what would be sent (name and size), "
	    "send nothing\n"
	    "      --verify      also read back and hash every file DST "
	    "already has\n"
	    "      --no-lock     take no shared lock on SRC (for a source "
	    "that\n"
	    "                    cannot be written, e.g. an append-only "
	    "copy)\n"
	    "      --json        print the summary as JSON\n",
	    cmd_replicate },
	{ "offsite-setup",
	    "print the server-side recipe for an append-only "
	    "off-site host",
	    "usage: coffer offsite-setup [--key FILE.pub] "
	    "sftp://USER@HOST[:PORT]/PATH\n"
	    "\n"
	    "Print, for the admin of the off-site host, the shell commands "
	    "that\n"
	    "prepare PATH for coffer replicate with an append-only key on "
	    "stock\n"
	    "OpenSSH: the account, the directory layout with owners and "
	    "modes,\n"
	    "the authorized_keys line that locks the key to internal-sftp "
	    "with\n"
	    "remove, rename-over and chmod refused, the sshd_config "
	    "alternative,\n"
	    "and how pruning works.  Nothing is changed on any host.  See\n"
	    "doc/OFFSITE.md.\n"
	    "\n"
	    "      --key FILE    the backup key's public key file to put in "
	    "the "
	    "line\n"
	    "                    (default: a placeholder)\n",
	    cmd_offsite_setup },
	{ "version", "print the version of coffer and of its libraries",
	    "usage: coffer version [-v] [--json]\n"
	    "\n"
	    "Print coffer's version; the same as 'coffer --version'.  With "
	    "-v,\n"
	    "also the versions of the libraries it runs with: OpenSSL, "
	    "libssh2,\n"
	    "libarchive, zstd, SQLite and jansson.\n",
	    cmd_version },
	{ NULL, NULL, NULL, NULL },
};

static const char main_usage[] =
    "usage: coffer [-qv] [-c FILE] [--json] [--log stderr|syslog] COMMAND "
    "[ARGS]\n"
    "       coffer help [COMMAND]\n"
    "       coffer --version\n";

const struct cli_cmd *
cli_find(const char *name)
{
	for (const struct cli_cmd *c = cli_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return (c);
	return (NULL);
}

static int
plain_options(struct cli_ctx *ctx, const char *name, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find(name);
	int ch;

	while ((ch = cli_getopt(ctx, cmd, argc, argv, CLI_COMMON_SHORT,
	            longopts)) != -1)
		if (ch == '?')
			return (-1);
	return (optind);
}

int
cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *c;
	int first;

	if ((first = plain_options(ctx, "help", argc, argv)) == -1)
		return (EXIT_USAGE);
	argc -= first;
	argv += first;
	if (argc > 1) {
		fprintf(stderr, "coffer help: too many arguments\n");
		return (EXIT_USAGE);
	}
	if (argc == 1) {
		if ((c = cli_find(argv[0])) == NULL) {
			fprintf(stderr,
			    "coffer help: no command '%s' (run 'coffer help' "
			    "for the list)\n",
			    argv[0]);
			return (EXIT_USAGE);
		}
		fputs(c->usage, stdout);
		return (EXIT_OK);
	}
	fputs(main_usage, stdout);
	fputs("\ncommands:\n", stdout);
	for (c = cli_commands; c->name != NULL; c++)
		printf("  %-13s %s\n", c->name, c->summary);
	fputs("\nglobal options (also accepted after COMMAND):\n"
	      "  -c, --config FILE        configuration file "
	      "(default " CLI_DEFAULT_CONFIG ")\n"
	      "  -q, --quiet              print errors only\n"
	      "  -v, --verbose            print debug detail\n"
	      "      --json               machine-readable output on stdout\n"
	      "      --log stderr|syslog  where log lines go\n"
	      "      --password-file FILE read the passphrase from FILE\n"
	      "      --password-command CMD  run CMD, read the passphrase from "
	      "its stdout\n"
	      "\nfor an sftp:// repository (over its [repository] settings):\n"
	      "      --identity FILE      the SSH key to log in with\n"
	      "      --known-hosts FILE   the known host keys\n"
	      "      --accept-new-host-key  record an unknown host key (a "
	      "changed one\n"
	      "                           is refused all the same)\n"
	      "      --limit-upload KIB   at most KIB KiB/s written; "
	      "--limit-download\n"
	      "                           KIB likewise for reading\n"
	      "\nSee coffer(1) for exit statuses and coffer.conf(5) for the "
	      "configuration.\n",
	    stdout);
	return (EXIT_OK);
}

int
cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
	/* The libraries as loaded now, not as compiled against. */
	const char *const libs[][2] = {
		{ "openssl", crypto_version() },
		{ "libssh2", stor_sftp_version() },
		{ "libarchive", fs_archive_version() },
		{ "zstd", compress_version() },
		{ "sqlite", fcache_sqlite_version() },
		{ "jansson", jansson_version_str() },
	};
	size_t nlibs = sizeof(libs) / sizeof(libs[0]);
	int first;

	if ((first = plain_options(ctx, "version", argc, argv)) == -1)
		return (EXIT_USAGE);
	if (argc > first) {
		fprintf(stderr, "coffer version: takes no arguments\n");
		return (EXIT_USAGE);
	}
	if (ctx->json) {
		json_t *j = json_object(), *l = json_object();

		json_object_set_new(j, "version", json_string(COFFER_VERSION));
		for (size_t i = 0; i < nlibs; i++)
			json_object_set_new(l, libs[i][0],
			    json_string(libs[i][1]));
		json_object_set_new(j, "libraries", l);
		fmt_json_print(j);
		json_decref(j);
		return (EXIT_OK);
	}
	printf("coffer %s\n", COFFER_VERSION);
	for (size_t i = 0; ctx->verbose && i < nlibs; i++)
		printf("  %-11s %s\n", libs[i][0], libs[i][1]);
	return (EXIT_OK);
}

/* A log record that could not be written: the change itself stands. */
static void
actor_warn(void *arg, const char *msg)
{
	struct cli_ctx *ctx = arg;

	log_warn(ctx->log, "%s", msg);
}

/* A local repository's absolute path into h; 0 if there is none. */
static int
held_root(struct held *h, struct stor *st)
{
	const char *loc = stor_location(st);
	char buf[PATH_MAX];

	if (strstr(loc, "://") != NULL || realpath(loc, buf) == NULL ||
	    strlen(buf) + 2 >= sizeof(h->path))
		return (0);
	h->rootlen = strlen(buf);
	memcpy(h->path, buf, h->rootlen + 1);
	return (1);
}

void
cli_lock_held(void *arg, const struct lock *lk, struct stor *st,
    const char *name)
{
	struct held *h = NULL, fresh;
	size_t i;

	(void)arg;
	pthread_mutex_lock(&held_mu);
	for (i = 0; i < HELD_MAX && h == NULL; i++)
		if (held[i].lk == lk)
			h = &held[i];
	if (h == NULL && name != NULL) {
		/*
		 * Resolved once, when first taken: a later refresh may run
		 * while a restore has entered its target directory.
		 */
		pthread_mutex_unlock(&held_mu);
		if (!held_root(&fresh, st))
			return;
		pthread_mutex_lock(&held_mu);
		for (i = 0; i < HELD_MAX && h == NULL; i++)
			if (held[i].lk == NULL)
				h = &held[i];
		if (h != NULL) {
			*h = fresh;
			h->lk = lk;
		}
	}
	if (h != NULL && name == NULL)
		h->lk = NULL;
	else if (h != NULL && h->rootlen + 1 + strlen(name) < sizeof(h->path)) {
		h->path[h->rootlen] = '/';
		memcpy(h->path + h->rootlen + 1, name, strlen(name) + 1);
	} else if (h != NULL)
		h->lk = NULL;
	pthread_mutex_unlock(&held_mu);
}

/*
 * xmalloc's out of memory ends the process with quick_exit, from any
 * thread: remove the lock files we hold, so that no lock of ours outlives
 * us (on this host it would count as dead, but elsewhere as live until
 * its deadline).  The mutex stays taken: no lock is registered after.
 */
static void
on_quick_exit(void)
{
	pthread_mutex_lock(&held_mu);
	for (size_t i = 0; i < HELD_MAX; i++)
		if (held[i].lk != NULL)
			(void)unlink(held[i].path);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe (| head) is an EPIPE error, handled where it occurs. */
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Keep the master key out of core files and away from other processes of
 * the same user: no core dumps (RLIMIT_CORE 0: children inherit it), and
 * not dumpable, which also makes /proc/PID/mem and friends root's and
 * refuses ptrace to anyone without CAP_SYS_PTRACE.  Programs we start are
 * dumpable again after their exec.  First thing, before any secret.
 */
static void
harden_process(struct log *log)
{
	const struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) == -1)
		log_warn(log, "warning: cannot turn core dumps off: %s",
		    strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn(log,
		    "warning: cannot make the process non-dumpable (its "
		    "memory stays readable by ptrace as this user): %s",
		    strerror(errno));
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "version", no_argument, NULL, CLI_OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_ctx ctx;
	const struct cli_cmd *cmd;
	char *fake[2] = { NULL, NULL };
	int ch, rc;

	xmalloc_keep_heap();
	memset(&ctx, 0, sizeof(ctx));
	ctx.interrupted = &interrupted;
	ctx.log = log_new("coffer", LOGL_INFO, LOG_SINK_STDERR);
	harden_process(ctx.log);
	at_quick_exit(on_quick_exit);
	ctx.actor = oplog_actor_new(argc, argv, actor_warn, &ctx);
	setup_signals();

	/* Global options stop at the command name ("+"). */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:" CLI_COMMON_SHORT, longopts,
	            NULL)) != -1) {
		switch (ch) {
		case 'h':
			fake[0] = "help";
			optind = 0;
			rc = cmd_help(&ctx, 1, fake);
			goto out;
		case CLI_OPT_VERSION:
			fake[0] = "version";
			optind = 0;
			rc = cmd_version(&ctx, 1, fake);
			goto out;
		case '?':
		case ':':
			if (optopt == CLI_OPT_PASSWORD)
				(void)cli_common_option(&ctx, NULL, optopt,
				    NULL);
			else
				fprintf(stderr, "coffer: %s %s\n%s",
				    ch == ':' ? "missing value for"
				              : "unknown option",
				    argv[optind - 1], main_usage);
			rc = EXIT_USAGE;
			goto out;
		default:
			if (cli_common_option(&ctx, NULL, ch, optarg) == -1) {
				rc = EXIT_USAGE;
				goto out;
			}
		}
	}
	if (optind >= argc) {
		fputs(main_usage, stderr);
		fputs("Run 'coffer help' for the list of commands.\n", stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if ((cmd = cli_find(argv[optind])) == NULL) {
		fprintf(stderr,
		    "coffer: unknown command '%s' (run 'coffer help' for the "
		    "list)\n",
		    argv[optind]);
		rc = EXIT_USAGE;
		goto out;
	}
	argc -= optind;
	argv += optind;
	/*
	 * The command parses its own options afresh.  0, not 1: only then
	 * does glibc forget the "+" (stop at the first non-option) given
	 * above, so that "coffer config check -c FILE" works.
	 */
	optind = 0;
	ctx.cmd_name = cmd->name;
	ctx.lock_wait = 30;
	rc = cmd->run(&ctx, argc, argv);
	if (rc == EXIT_OK && interrupted)
		rc = EXIT_INTERRUPTED;
out:
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		/* Output lost (full disk, closed pipe) is a failure. */
		perror("coffer: stdout");
		rc = EXIT_ERROR;
	}
	oplog_actor_free(ctx.actor);
	log_free(ctx.log);
	return (rc);
}
