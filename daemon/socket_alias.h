/*
 * The by-serial alias of omvd's socket: <socket dir>/by-serial/<serial>.sock,
 * a symlink to ../<socket name>, so a program finds "the cam with serial X"
 * whatever port it was plugged into.
 */
#ifndef OMVD_SOCKET_ALIAS_H
#define OMVD_SOCKET_ALIAS_H

#include <limits.h>
#include <stdbool.h>

struct socket_alias {
	char dir[PATH_MAX];	/* <socket dir>/by-serial; "" when unknown */
	char target[PATH_MAX];	/* ../<socket name> */
	char path[PATH_MAX];	/* the alias in place; "" when none */
	bool warned;		/* a failure was logged once */
};

/* The socket is listen_fd (systemd's, when >= 0) or socket_path. */
void socket_alias_init(struct socket_alias *a, int listen_fd, const char *socket_path);
/* Point serial's alias at the socket (removing ours for another serial). */
void socket_alias_set(struct socket_alias *a, const char *serial);
/* Remove ours, if it still points at this socket. */
void socket_alias_clear(struct socket_alias *a);

#endif
