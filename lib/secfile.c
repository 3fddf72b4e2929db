/*
 * Ownership and mode checks in the spirit of OpenSSH's for private keys.
 */
#include "secfile.h"

#include <sys/stat.h>

#include <unistd.h>

static int
check(int fd, const char *path, const char *what, mode_t forbidden,
    const char *fix, struct err *e)
{
	struct stat st;
	uid_t uid = geteuid();

	if (fstat(fd, &st) == -1)
		return (err_sys(e, ERR_IO, "%s %s", what, path));
	if (!S_ISREG(st.st_mode))
		return (err_set(e, ERR_CONFIG, "%s %s is not a regular file",
		    what, path));
	if (st.st_uid != uid && st.st_uid != 0)
		return (err_set(e, ERR_CONFIG,
		    "%s %s is owned by uid %u, not by you (uid %u) or root; "
		    "run: chown %u %s",
		    what, path, (unsigned)st.st_uid, (unsigned)uid,
		    (unsigned)uid, path));
	if ((st.st_mode & forbidden) != 0)
		return (err_set(e, ERR_CONFIG,
		    "%s %s is %s by group or others (mode %04o); run: "
		    "chmod %s %s",
		    what, path,
		    (st.st_mode & forbidden & 0044) ? "readable" : "writable",
		    (unsigned)(st.st_mode & 07777), fix, path));
	return (0);
}

int
secfile_check_secret(int fd, const char *path, const char *what, struct err *e)
{
	return (check(fd, path, what, 0077, "600", e));
}

int
secfile_check_trusted(int fd, const char *path, const char *what, struct err *e)
{
	return (check(fd, path, what, 0022, "go-w", e));
}
