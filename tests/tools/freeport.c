/*
 * freeport [COUNT]: print COUNT (default 1) distinct TCP ports on 127.0.0.1
 * that were free a moment ago, one a line, for the e2e tests to start
 * servers on.  The ports are released on exit, so another process may take
 * one before the server binds it: tests/e2e/lib.sh retries on another port.
 */
#include <sys/types.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FREEPORT_MAX 64

int
main(int argc, char **argv)
{
	int fds[FREEPORT_MAX];
	unsigned short ports[FREEPORT_MAX];
	long count = 1;
	char *end = NULL;
	int n = 0, rc = 1;

	if (argc == 2)
		count = strtol(argv[1], &end, 10);
	if (argc > 2 || (end != NULL && (*end != '\0' || end == argv[1])) ||
	    count < 1 || count > FREEPORT_MAX) {
		fprintf(stderr, "usage: freeport [COUNT]  (1..%d)\n",
		    FREEPORT_MAX);
		return (2);
	}
	/*
	 * All sockets stay bound until every port is known, so the ports are
	 * distinct.  They never listen or connect, so closing them leaves no
	 * TIME_WAIT behind to block the server that binds the port next.
	 */
	for (; n < count; n++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);

		if ((fds[n] = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
			fprintf(stderr, "freeport: socket: %s\n",
			    strerror(errno));
			goto out;
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = 0;
		if (bind(fds[n], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(fds[n], (struct sockaddr *)&sin, &len) == -1) {
			fprintf(stderr, "freeport: bind 127.0.0.1:0: %s\n",
			    strerror(errno));
			close(fds[n]);
			goto out;
		}
		ports[n] = ntohs(sin.sin_port);
	}
	for (int i = 0; i < n; i++)
		printf("%u\n", (unsigned)ports[i]);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "freeport: writing stdout: %s\n",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	while (n > 0)
		close(fds[--n]);
	return (rc);
}
