/*
 * The by-serial socket alias (socket_alias.h). Made atomically (a new
 * symlink renamed over the old one) and removed only while it is still
 * ours. Failing to make it is not fatal: the socket works without it.
 */
#include "socket_alias.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

void socket_alias_init(struct socket_alias *a, int listen_fd, const char *socket_path)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof sa;
	char dir_copy[PATH_MAX], name_copy[PATH_MAX];

	memset(a, 0, sizeof *a);
	if (listen_fd >= 0) {
		if (getsockname(listen_fd, (struct sockaddr *)&sa, &len) < 0 ||
		    sa.sun_family != AF_UNIX || sa.sun_path[0] != '/')
			return;	/* abstract or unnamed: nothing to point at */
		socket_path = sa.sun_path;
	}
	snprintf(dir_copy, sizeof dir_copy, "%s", socket_path);
	snprintf(name_copy, sizeof name_copy, "%s", socket_path);
	snprintf(a->dir, sizeof a->dir, "%s/by-serial", dirname(dir_copy));
	snprintf(a->target, sizeof a->target, "../%s", basename(name_copy));
}

static void failed(struct socket_alias *a, const char *what)
{
	if (!a->warned)
		log_notice("no by-serial alias of the socket: %s: %s", what, strerror(errno));
	a->warned = true;
}

void socket_alias_set(struct socket_alias *a, const char *serial)
{
	char name[256], path[PATH_MAX], tmp[PATH_MAX];
	size_t n;

	if (!a->dir[0] || !serial || !serial[0])
		return;
	/* A file name, whatever the cam reports. */
	for (n = 0; serial[n] && n + 1 < sizeof name; n++)
		name[n] = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
				 serial[n]) ? serial[n] : '_';
	name[n] = '\0';
	if (snprintf(path, sizeof path, "%s/%s.sock", a->dir, name) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.%ld", a->dir, name, (long)getpid()) >= (int)sizeof tmp ||
	    strcmp(path, a->path) == 0)
		return;
	socket_alias_clear(a);
	if (mkdir(a->dir, 0755) == 0)
		chmod(a->dir, 0755);	/* readable by clients whatever our umask */
	else if (errno != EEXIST)
		return failed(a, a->dir);
	unlink(tmp);
	if (symlink(a->target, tmp) < 0)
		return failed(a, tmp);
	if (rename(tmp, path) < 0) {
		failed(a, path);
		unlink(tmp);
		return;
	}
	snprintf(a->path, sizeof a->path, "%s", path);
	log_info("socket alias %s", path);
}

void socket_alias_clear(struct socket_alias *a)
{
	char now[PATH_MAX];
	ssize_t n;

	if (!a->path[0])
		return;
	n = readlink(a->path, now, sizeof now - 1);
	if (n >= 0) {
		now[n] = '\0';
		if (strcmp(now, a->target) == 0)
			unlink(a->path);
	}
	a->path[0] = '\0';
}
