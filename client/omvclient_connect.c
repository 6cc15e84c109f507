/*
 * Where libomvclient connects: connect strings (a socket path, unix:PATH,
 * ssh://[user@]host[:port][/socket]), finding the local socket when none
 * is given, and the ssh transport: `ssh` from PATH runs `omvctl bridge`
 * on the far side, and the JSON-RPC lines travel over its stdin/stdout
 * (the way `docker -H ssh://` works). SSH does the authentication and the
 * encryption; nothing listens on the network.
 */
#include "omvclient_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_RUNTIME_DIR "/run/omvd"
/* How long an ssh login may take before omvd's first answer. */
#define SSH_LOGIN_MS 60000

const char *omv_client_default_socket(void)
{
	const char *env = getenv("OMVD_SOCKET");

	return env && *env ? env : OMV_DEFAULT_SOCKET;
}

const char *omv_client_runtime_dir(void)
{
	const char *env = getenv("OMVD_RUNTIME_DIR");

	return env && *env ? env : DEFAULT_RUNTIME_DIR;
}

/* ---- the sockets in the runtime directory ----------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sockets only: the by-serial aliases are symlinks in a subdirectory, and
 * a symlink next to the sockets names one of them a second time. */
static bool is_socket(const char *dir, const char *name)
{
	struct stat st;
	char path[PATH_MAX];

	if (name[0] == '.' || snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return false;
	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

char **omv_client_list_sockets(void)
{
	const char *dir = omv_client_runtime_dir();
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, **out = NULL;
	size_t n = 0, cap = 0, bytes = 0;

	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (!is_socket(dir, e->d_name))
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap = cap ? cap * 2 : 8) * sizeof *names);

			if (!more)
				goto out;
			names = more;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto out;
		bytes += strlen(dir) + 1 + strlen(names[n++]) + 1;
	}
	qsort(names, n, sizeof *names, by_name);
	/* One block: the pointers, then the strings; one free() releases it. */
	out = malloc((n + 1) * sizeof *out + bytes);
	if (out) {
		char *text = (char *)(out + n + 1);

		for (size_t i = 0; i < n; i++) {
			out[i] = text;
			text += sprintf(text, "%s/%s", dir, names[i]) + 1;
		}
		out[n] = NULL;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	if (!out)
		errno = ENOMEM;
	return out;
}

char *omv_client_find_socket(omv_client *c)
{
	const char *env = getenv("OMVD_SOCKET");
	const char *dir = omv_client_runtime_dir();
	char path[PATH_MAX], *found = NULL, **all;
	struct stat st;
	size_t n = 0, used = 0;

	if (env && *env)
		return strdup(env);
	snprintf(path, sizeof path, "%s/omvd.sock", dir);
	if (stat(path, &st) == 0)
		return strdup(path);
	all = omv_client_list_sockets();
	if (!all) {
		int e = errno;

		omv_set_error_errno(c, OMV_ECONNECT, e, "no omvd socket in %s: %s", dir, strerror(e));
		return NULL;
	}
	while (all[n])
		n++;
	if (n == 1) {
		found = strdup(all[0]);
	} else if (n == 0) {
		omv_set_error_errno(c, OMV_ECONNECT, ENOENT, "no omvd socket in %s", dir);
	} else {
		char list[400];

		list[0] = '\0';
		for (size_t i = 0; i < n && used < sizeof list; i++)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
						 i ? " " : "", all[i]);
		omv_set_error(c, OMV_ECONNECT, "%zu omvd sockets in %s, choose one: %s", n, dir,
			      list);
	}
	free(all);
	return found;
}

/* ---- local sockets -------------------------------------------------------- */

static int connect_failed(omv_client *c, const char *path, int e)
{
	return omv_set_error_errno(c, OMV_ECONNECT, e, "cannot connect to %s: %s", path,
				   strerror(e));
}

static int connect_unix(omv_client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof sa.sun_path)
		return connect_failed(c, path, ENAMETOOLONG);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return connect_failed(c, path, errno);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		return connect_failed(c, path, e);
	}
	omv_client_attach(c, fd, 0);
	return OMV_OK;
}

/* ---- ssh ------------------------------------------------------------------- */

struct ssh_target {
	char user[64], host[256], port[6];
	const char *socket;	/* on the far side; NULL: its default */
};

/* Printable, no blanks, and not taken for an ssh option. */
static bool plain_word(const char *s)
{
	if (!*s || *s == '-')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static bool copy_part(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

/* ssh://[user@]host[:port][/path/to/socket]; host may be [v6-address]. */
static bool parse_ssh(const char *url, struct ssh_target *t)
{
	const char *auth = url + strlen("ssh://");
	const char *slash = strchr(auth, '/');
	const char *end = slash ? slash : auth + strlen(auth);
	const char *at = memrchr(auth, '@', (size_t)(end - auth));
	const char *host = at ? at + 1 : auth, *colon;

	memset(t, 0, sizeof *t);
	t->socket = slash && slash[1] ? slash : NULL;
	if (at && (!copy_part(t->user, sizeof t->user, auth, (size_t)(at - auth)) ||
		   !plain_word(t->user)))
		return false;
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close || !copy_part(t->host, sizeof t->host, host + 1,
					 (size_t)(close - host - 1)))
			return false;
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		if (!colon && close + 1 != end)
			return false;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		if (!copy_part(t->host, sizeof t->host, host,
			       (size_t)((colon ? colon : end) - host)))
			return false;
	}
	if (!plain_word(t->host))
		return false;
	if (colon) {
		char *stop;
		long port;

		if (!copy_part(t->port, sizeof t->port, colon + 1, (size_t)(end - colon - 1)))
			return false;
		port = strtol(t->port, &stop, 10);
		if (!t->port[0] || *stop || port < 1 || port > 65535)
			return false;
	}
	return true;
}

/* s in single quotes for the far side's shell. */
static void shell_quote(char *dst, size_t size, const char *s)
{
	size_t n = 0;

	if (size < 3)
		return;
	dst[n++] = '\'';
	for (; *s && n + 5 < size; s++) {
		if (*s == '\'') {
			memcpy(dst + n, "'\\''", 4);
			n += 4;
		} else {
			dst[n++] = *s;
		}
	}
	dst[n++] = '\'';
	dst[n] = '\0';
}

/* The program's full path from PATH, into buf; false when not found. */
static bool find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");

	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, size, "%.*s/%s", (int)len, len ? path : ".", name) < (int)size &&
		    access(buf, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

static int connect_ssh(omv_client *c, const char *url)
{
	struct ssh_target t;
	char ssh[PATH_MAX], remote[PATH_MAX * 4 + 64], quoted[PATH_MAX * 4 + 2];
	const char *program = getenv("OMVCTL_REMOTE"), *argv[12];
	int sv[2], n = 0, rc, timeout;
	pid_t pid;

	if (!parse_ssh(url, &t))
		return omv_set_error(c, OMV_EINVAL,
				     "'%s' is not ssh://[user@]host[:port][/path/to/socket]", url);
	if (!find_program("ssh", ssh, sizeof ssh))
		return omv_set_error_errno(c, OMV_ECONNECT, ENOENT,
					   "cannot connect to %s: no ssh in PATH", url);
	if (t.socket)
		shell_quote(quoted, sizeof quoted, t.socket);
	snprintf(remote, sizeof remote, "%s bridge%s%s", program && *program ? program : "omvctl",
		 t.socket ? " --socket " : "", t.socket ? quoted : "");
	argv[n++] = "ssh";
	argv[n++] = "-T";	/* a clean byte pipe: no pty on the far side */
	if (t.port[0]) {
		argv[n++] = "-p";
		argv[n++] = t.port;
	}
	if (t.user[0]) {
		argv[n++] = "-l";
		argv[n++] = t.user;
	}
	argv[n++] = "--";
	argv[n++] = t.host;
	argv[n++] = remote;
	argv[n] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return connect_failed(c, url, errno);
	pid = fork();
	if (pid == 0) {
		/* Ctrl-C belongs to the program: it may still want to talk
		 * (stop a script) before it closes the link itself. ssh keeps
		 * an inherited SIG_IGN. */
		struct sigaction ign = { .sa_handler = SIG_IGN };
		sigset_t none;

		sigaction(SIGINT, &ign, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			_exit(127);
		execv(ssh, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		rc = errno;
		close(sv[0]);
		return connect_failed(c, url, rc);
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	omv_client_attach(c, sv[0], pid);
	/* The link only counts as connected once omvd answers through it.
	 * ssh may ask for a password first: allow for a person typing. */
	timeout = omv_client_timeout(c);
	if (timeout > 0 && timeout < SSH_LOGIN_MS)
		omv_client_set_timeout(c, SSH_LOGIN_MS);
	rc = omv_client_call(c, "is_connected", NULL, NULL);
	omv_client_set_timeout(c, timeout);
	if (rc == OMV_ECLOSED || rc == OMV_EIO || rc == OMV_ETIMEOUT || rc == OMV_EPROTO) {
		char why[512];

		snprintf(why, sizeof why, "%s", omv_client_error_message(c));
		omv_client_detach(c, NULL);
		return omv_set_error(c, OMV_ECONNECT, "cannot connect to %s: %s", url, why);
	}
	return OMV_OK;
}

/* ---- connect ---------------------------------------------------------------- */

int omv_client_connect(omv_client *c, const char *where)
{
	char *found = NULL;
	int rc;

	if (omv_client_fd(c) >= 0)
		return omv_set_error(c, OMV_EINVAL, "already connected");
	if (!where) {
		where = found = omv_client_find_socket(c);
		if (!found)
			return omv_client_error_code(c);
	}
	if (strncmp(where, "ssh://", 6) == 0)
		rc = connect_ssh(c, where);
	else
		rc = connect_unix(c, strncmp(where, "unix:", 5) == 0 ? where + 5 : where);
	free(found);
	return rc;
}
