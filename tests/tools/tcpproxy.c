/*
 * tcpproxy: a TCP forwarder on loopback that makes network faults for the
 * replicate tests: cut a connection after N bytes, stall it after N bytes
 * (stop forwarding, keep it open), refuse connections, or flip one byte
 * of what the client sends.
 *
 *   tcpproxy [-c N | -s N | -r | -f N] [-k K] [-R FILE] LISTEN_PORT
 *            TARGET_PORT
 *
 *   -c N   close both sides once N bytes (both directions) have passed
 *   -s N   stop forwarding once N bytes have passed; keep both sides open
 *   -r     accept and close at once
 *   -f N   invert the bits of byte N (from 0) of the client-to-server
 *          stream, forwarding all else untouched
 *   -k K   apply the fault to the first K connections only (default: all);
 *          later ones are forwarded untouched, so that a retry gets through
 *   -R F   write "ready" to F once listening (for the test to wait on)
 *
 * Each connection is served by a child process; SIGTERM to the proxy ends
 * them all.  Each faulted connection is logged on stderr.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXKIDS 4096

static volatile sig_atomic_t stop;
static pid_t kids[MAXKIDS];
static int nkids;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tcpproxy [-c N | -s N | -r | -f N] [-k K] [-R FILE] "
	    "LISTEN_PORT TARGET_PORT\n");
	exit(2);
}

static int
connect_to(int port)
{
	struct sockaddr_in sa;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return (-1);
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

/*
 * Forward between a (the client) and b; with limit > 0, after limit bytes
 * either close (cut) or stop forwarding and wait to be killed (stall).
 * With flip >= 0, byte flip of a's stream goes inverted.
 */
static void
serve(int a, int b, unsigned long long limit, int stall, long long flip, int n)
{
	unsigned long long passed = 0, sent = 0;
	struct pollfd pf[2];
	char buf[65536];

	for (;;) {
		pf[0].fd = a;
		pf[1].fd = b;
		pf[0].events = pf[1].events = POLLIN;
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			size_t want = sizeof(buf);
			ssize_t r;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (limit > 0 && limit - passed < want)
				want = (size_t)(limit - passed);
			r = read(pf[i].fd, buf, want);
			if (r <= 0)
				return;
			if (i == 0 && flip >= 0 &&
			    (unsigned long long)flip >= sent &&
			    (unsigned long long)flip - sent < (size_t)r) {
				buf[flip - (long long)sent] ^= (char)0xff;
				fprintf(stderr,
				    "tcpproxy: connection %d byte %lld "
				    "flipped\n",
				    n, flip);
			}
			if (i == 0)
				sent += (unsigned long long)r;
			if (write_all(pf[1 - i].fd, buf, (size_t)r) == -1)
				return;
			passed += (unsigned long long)r;
			if (limit > 0 && passed >= limit) {
				fprintf(stderr,
				    "tcpproxy: connection %d %s after %llu "
				    "bytes\n",
				    n, stall ? "stalled" : "cut", passed);
				if (!stall)
					return;
				for (;;)
					pause();
			}
		}
	}
}

int
main(int argc, char **argv)
{
	unsigned long long limit = 0;
	int stall = 0, refuse = 0, ch, lfd, one = 1, conn = 0;
	long faulty = -1;
	long long flip = -1;
	const char *ready = NULL;
	struct sockaddr_in sa;
	struct sigaction sact;
	int lport, tport;

	while ((ch = getopt(argc, argv, "c:s:rf:k:R:")) != -1) {
		switch (ch) {
		case 'c':
			limit = strtoull(optarg, NULL, 10);
			break;
		case 's':
			limit = strtoull(optarg, NULL, 10);
			stall = 1;
			break;
		case 'r':
			refuse = 1;
			break;
		case 'f':
			flip = strtoll(optarg, NULL, 10);
			break;
		case 'k':
			faulty = strtol(optarg, NULL, 10);
			break;
		case 'R':
			ready = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	lport = atoi(argv[optind]);
	tport = atoi(argv[optind + 1]);

	memset(&sact, 0, sizeof(sact));
	sact.sa_handler = on_term;
	sigaction(SIGTERM, &sact, NULL);
	sigaction(SIGINT, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("tcpproxy: socket");
		return (1);
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)lport);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 64) == -1) {
		perror("tcpproxy: bind");
		return (1);
	}
	if (ready != NULL) {
		FILE *f = fopen(ready, "w");

		if (f == NULL || fputs("ready\n", f) == EOF || fclose(f) != 0) {
			perror(ready);
			return (1);
		}
	}
	while (!stop) {
		int cfd, sfd, fault;
		pid_t pid;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if ((cfd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			perror("tcpproxy: accept");
			break;
		}
		conn++;
		fault = faulty < 0 || conn <= faulty;
		if (fault && refuse) {
			fprintf(stderr, "tcpproxy: connection %d refused\n",
			    conn);
			close(cfd);
			continue;
		}
		if ((sfd = connect_to(tport)) == -1) {
			close(cfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((pid = fork()) == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			close(lfd);
			serve(cfd, sfd, fault ? limit : 0, stall,
			    fault ? flip : -1, conn);
			_exit(0);
		}
		if (pid > 0 && nkids < MAXKIDS)
			kids[nkids++] = pid;
		close(cfd);
		close(sfd);
	}
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return (0);
}
