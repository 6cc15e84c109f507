/*
 * The control token. Made at start from the kernel's random source (or
 * read from --token-file), written to a file only the user can read, and
 * printed in the address to open. A request carries it in the
 * X-OMV-Token header, as "Authorization: Bearer", in the cookie that
 * opening "/?token=..." sets, or as ?token= in its address. Compared in
 * constant time.
 */
#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/keyvalq_struct.h>

#define TOKEN_BYTES 24	/* 48 hex digits */

/* --token-file: one line, 16..128 characters of [A-Za-z0-9._-]; the file
 * must not be readable by others, as a secret should not be. */
static int read_token_file(struct web *w, const char *path)
{
	char buf[sizeof w->token + 2];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		web_log("--token-file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) != 0) {
		web_log("--token-file %s: readable by others (chmod 600 it)", path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		web_log("--token-file %s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len < 16 || len >= sizeof w->token || strspn(buf, "0123456789abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") != len) {
		web_log("--token-file %s: the token must be 16 to %zu characters of "
			"A-Z a-z 0-9 - _ .", path, sizeof w->token - 1);
		return -1;
	}
	memcpy(w->token, buf, len + 1);
	return 0;
}

int auth_init(struct web *w)
{
	unsigned char raw[TOKEN_BYTES];
	size_t got = 0;

	if (w->opt.token_file)
		return read_token_file(w, w->opt.token_file);
	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);

		if (n < 0 && errno != EINTR) {
			web_log("getrandom: %s", strerror(errno));
			return -1;
		}
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(w->token + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* Where a made-up token goes: the service's runtime directory, else the
 * user's. */
static bool default_token_path(const struct web *w, char *out, size_t size)
{
	const char *dir = getenv("RUNTIME_DIRECTORY");

	if (dir && *dir) {
		/* systemd may list several; the first is ours. */
		int n = (int)strcspn(dir, ":");

		return snprintf(out, size, "%.*s/token", n, dir) < (int)size;
	}
	dir = getenv("XDG_RUNTIME_DIR");
	if (dir && *dir)
		return snprintf(out, size, "%s/omv-web-%d.token", dir, w->port) < (int)size;
	return false;
}

const char *auth_save(struct web *w)
{
	static char path[4096];
	char tmp[sizeof path + 16];
	ssize_t len = (ssize_t)strlen(w->token);
	int fd;

	if (w->opt.token_file)
		return NULL;
	if (!default_token_path(w, path, sizeof path)) {
		web_log("no $XDG_RUNTIME_DIR: the token is only printed");
		return NULL;
	}
	/* Written beside it and renamed: a reader never sees half a token,
	 * and the file is never readable by others, not even for a moment. */
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0600) < 0 || write(fd, w->token, (size_t)len) != len ||
	    write(fd, "\n", 1) != 1 || close(fd) < 0 || rename(tmp, path) < 0) {
		web_log("cannot write the token to %s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return NULL;
	}
	return path;
}

static bool same_token(const struct web *w, const char *given, size_t len)
{
	size_t want = strlen(w->token);
	unsigned char diff = len != want;

	/* Constant time in what matches: no byte-by-byte early exit. */
	for (size_t i = 0; i < want; i++)
		diff |= (unsigned char)(w->token[i] ^ (i < len ? given[i] : 0));
	return diff == 0;
}

/* The value of our cookie in a Cookie header, or NULL. */
static const char *cookie_value(const struct web *w, const char *header, size_t *len)
{
	char name[32];
	size_t nlen = (size_t)snprintf(name, sizeof name, "omv_token_%d=", w->port);

	for (const char *p = header; p && *p;) {
		p += strspn(p, " ;");
		if (strncmp(p, name, nlen) == 0) {
			p += nlen;
			*len = strcspn(p, ";");
			return p;
		}
		p = strchr(p, ';');
	}
	return NULL;
}

bool auth_request_has_token(const struct web *w, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *v = evhttp_find_header(in, "X-OMV-Token");
	size_t len;

	/* In the address, for players that cannot send headers:
	 * ffplay "http://127.0.0.1:8080/stream.mjpg?token=..." */
	if (uri && auth_query_token(w, evhttp_uri_get_query(uri)) == 1)
		return true;
	if (v)
		return same_token(w, v, strlen(v));
	v = evhttp_find_header(in, "Authorization");
	if (v && strncasecmp(v, "Bearer ", 7) == 0)
		return same_token(w, v + 7, strlen(v + 7));
	v = evhttp_find_header(in, "Cookie");
	v = v ? cookie_value(w, v, &len) : NULL;
	return v && same_token(w, v, len);
}

int auth_query_token(const struct web *w, const char *query)
{
	struct evkeyvalq args;
	const char *v;
	int rc = -1;

	if (!query || evhttp_parse_query_str(query, &args) < 0)
		return -1;
	v = evhttp_find_header(&args, "token");
	if (v)
		rc = same_token(w, v, strlen(v));
	evhttp_clear_headers(&args);
	return rc;
}

void auth_cookie(const struct web *w, char *out, size_t size)
{
	/* Cookies ignore ports: the name keeps instances on one host apart. */
	snprintf(out, size, "omv_token_%d=%s; Path=/; HttpOnly; SameSite=Strict", w->port,
		 w->token);
}
