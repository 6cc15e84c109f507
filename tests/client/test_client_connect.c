/*
 * libomvclient without a server to talk to: connecting and its errors,
 * finding omvd's socket (discovery in the runtime directory), connect
 * strings (unix:, ssh://), and base64.
 * Usage: test_client_connect CASE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_server.h"
#include "omvclient.h"

/* ---- connecting ----------------------------------------------------------- */

static void test_connect(void)
{
	omv_client *c = omv_client_new();
	char expect[200];

	TCHECK(omv_client_connect(c, "/nonexistent/omvd.sock") == OMV_ECONNECT);
	snprintf(expect, sizeof expect, "cannot connect to /nonexistent/omvd.sock: %s",
		 strerror(ENOENT));
	TCHECKF(strcmp(omv_client_error_message(c), expect) == 0, "%s",
		omv_client_error_message(c));
	TCHECK(omv_client_fd(c) == -1);
	TCHECK(omv_client_call(c, "status", NULL, NULL) == OMV_ECLOSED);
	setenv("OMVD_SOCKET", "/x/y.sock", 1);
	TCHECK(strcmp(omv_client_default_socket(), "/x/y.sock") == 0);
	setenv("OMVD_SOCKET", "", 1);
	TCHECK(strcmp(omv_client_default_socket(), OMV_DEFAULT_SOCKET) == 0);
	omv_client_free(c);
}

/* ---- finding the socket, connect strings ---------------------------------- */

/* A listening socket at dir/name; its fd (close it to leave a dead one). */
static int listen_at(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, name);
	TCHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 4) == 0);
	return fd;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	TCHECK(f && fputs(text, f) >= 0 && fclose(f) == 0 && chmod(path, mode) == 0);
}

static void test_discovery(void)
{
	char dir[] = "/tmp/omvclient-run-XXXXXX", path[200], expect[600], **list;
	omv_client *c = omv_client_new();
	int a, b, o;
	char *found;

	TCHECK(mkdtemp(dir) != NULL);
	unsetenv("OMVD_SOCKET");
	snprintf(path, sizeof path, "%s/nowhere", dir);
	setenv("OMVD_RUNTIME_DIR", path, 1);
	TCHECK(strcmp(omv_client_runtime_dir(), path) == 0);
	TCHECK(omv_client_list_sockets() == NULL && errno == ENOENT);
	TCHECK(omv_client_find_socket(c) == NULL && omv_client_error_errno(c) == ENOENT);
	TCHECK(omv_client_connect(c, NULL) == OMV_ECONNECT);

	setenv("OMVD_RUNTIME_DIR", dir, 1);
	list = omv_client_list_sockets();
	TCHECK(list && list[0] == NULL);
	free(list);
	TCHECK(omv_client_find_socket(c) == NULL && omv_client_error_code(c) == OMV_ECONNECT);
	snprintf(expect, sizeof expect, "no omvd socket in %s", dir);
	TCHECK(strcmp(omv_client_error_message(c), expect) == 0);
	TCHECK(omv_client_error_errno(c) == ENOENT);

	/* Two sockets; a symlink, a hidden socket, a file and a directory are
	 * not counted. */
	b = listen_at(dir, "b.sock");
	a = listen_at(dir, "a.sock");
	close(listen_at(dir, ".hidden.sock"));
	snprintf(path, sizeof path, "%s/c.sock", dir);
	TCHECK(symlink("a.sock", path) == 0);
	snprintf(path, sizeof path, "%s/notes", dir);
	write_file(path, "x", 0644);
	snprintf(path, sizeof path, "%s/by-serial", dir);
	TCHECK(mkdir(path, 0755) == 0);
	list = omv_client_list_sockets();
	TCHECK(list && list[0] && list[1] && !list[2]);
	snprintf(path, sizeof path, "%s/a.sock", dir);
	TCHECK(strcmp(list[0], path) == 0);
	snprintf(path, sizeof path, "%s/b.sock", dir);
	TCHECK(strcmp(list[1], path) == 0);
	free(list);
	TCHECK(omv_client_find_socket(c) == NULL && omv_client_error_errno(c) == 0);
	snprintf(expect, sizeof expect, "2 omvd sockets in %s, choose one: %s/a.sock %s/b.sock",
		 dir, dir, dir);
	TCHECKF(strcmp(omv_client_error_message(c), expect) == 0, "%s",
		omv_client_error_message(c));

	/* One left: it is the one; omvd.sock beats others; $OMVD_SOCKET all. */
	close(b);
	unlink(path);
	found = omv_client_find_socket(c);
	snprintf(path, sizeof path, "%s/a.sock", dir);
	TCHECK(found && strcmp(found, path) == 0);
	free(found);
	TCHECK(omv_client_connect(c, NULL) == 0);
	omv_client_free(c);
	c = omv_client_new();
	o = listen_at(dir, "omvd.sock");
	found = omv_client_find_socket(c);
	snprintf(path, sizeof path, "%s/omvd.sock", dir);
	TCHECK(found && strcmp(found, path) == 0);
	free(found);
	setenv("OMVD_SOCKET", "/x/y.sock", 1);
	found = omv_client_find_socket(c);
	TCHECK(found && strcmp(found, "/x/y.sock") == 0);
	free(found);
	unsetenv("OMVD_SOCKET");

	/* unix:PATH; a socket nobody listens on is refused. */
	snprintf(path, sizeof path, "unix:%s/a.sock", dir);
	TCHECK(omv_client_connect(c, path) == 0);
	omv_client_free(c);
	c = omv_client_new();
	snprintf(path, sizeof path, "%s/.hidden.sock", dir);
	TCHECK(omv_client_connect(c, path) == OMV_ECONNECT);
	TCHECK(omv_client_error_errno(c) == ECONNREFUSED);

	close(a);
	close(o);
	omv_client_free(c);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	TCHECK(system(path) == 0);
}

/* ssh:// strings: refused when malformed; otherwise ssh from PATH gets
 * the host, user, port and the far side's command, quoted. */
static void test_ssh_string(void)
{
	static const char *const bad[] = { "ssh://", "ssh://-oProxyCommand=x", "ssh://h:0",
		"ssh://h:70000", "ssh://h:", "ssh://[::1", "ssh://u@", "ssh://a b",
		"ssh://-l@h", "ssh://h:22x" };
	char dir[] = "/tmp/omvclient-ssh-XXXXXX", path[300], args[600];
	omv_client *c = omv_client_new();
	const char *old_path = getenv("PATH");
	char *saved = strdup(old_path ? old_path : "/usr/bin:/bin");
	FILE *f;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		TCHECKF(omv_client_connect(c, bad[i]) == OMV_EINVAL, "%s accepted", bad[i]);
		TCHECK(strstr(omv_client_error_message(c), "is not ssh://") != NULL);
	}
	TCHECK(mkdtemp(dir) != NULL);
	setenv("PATH", dir, 1);
	TCHECK(omv_client_connect(c, "ssh://host") == OMV_ECONNECT);
	TCHECK(strcmp(omv_client_error_message(c), "cannot connect to ssh://host: no ssh in PATH") == 0);
	/* An ssh that records its arguments one per line and fails as ssh does. */
	snprintf(path, sizeof path, "%s/ssh", dir);
	snprintf(args, sizeof args, "#!/bin/sh\nfor a; do echo \"$a\"; done >%s/args\nexit 255\n", dir);
	write_file(path, args, 0755);
	unsetenv("OMVCTL_REMOTE");
	TCHECK(omv_client_connect(c, "ssh://alice@[::1]:2222/run/it's here.sock") == OMV_ECONNECT);
	TCHECKF(strstr(omv_client_error_message(c),
		       "the ssh link ended: ssh exited with status 255") != NULL, "%s",
		omv_client_error_message(c));
	TCHECKF(strstr(omv_client_error_message(c),
		       "cannot connect to ssh://alice@[::1]:2222/run/it's here.sock: ") ==
		omv_client_error_message(c), "%s", omv_client_error_message(c));
	TCHECK(omv_client_fd(c) == -1);
	snprintf(path, sizeof path, "%s/args", dir);
	TCHECK((f = fopen(path, "r")) != NULL);
	memset(args, 0, sizeof args);
	TCHECK(fread(args, 1, sizeof args - 1, f) > 0);
	fclose(f);
	TCHECKF(strcmp(args, "-T\n-p\n2222\n-l\nalice\n--\n::1\n"
			     "omvctl bridge --socket '/run/it'\\''s here.sock'\n") == 0, "%s", args);
	/* Without a path the far side finds its socket; OMVCTL_REMOTE runs. */
	setenv("OMVCTL_REMOTE", "/opt/bin/omvctl", 1);
	TCHECK(omv_client_connect(c, "ssh://robot") == OMV_ECONNECT);
	TCHECK((f = fopen(path, "r")) != NULL);
	memset(args, 0, sizeof args);
	TCHECK(fread(args, 1, sizeof args - 1, f) > 0);
	fclose(f);
	TCHECKF(strcmp(args, "-T\n--\nrobot\n/opt/bin/omvctl bridge\n") == 0, "%s", args);
	unsetenv("OMVCTL_REMOTE");
	setenv("PATH", saved, 1);
	free(saved);
	omv_client_free(c);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	TCHECK(system(path) == 0);
}

/* ---- base64 ------------------------------------------------------------ */

/* The API's names for the shared codec (tests/unit/test_base64.c tests the
 * codec itself): NUL-terminated text in, the decoder as strict as omvd's. */
static void test_base64(void)
{
	static const char *const refused[] = { "Zm9 v", "Zm9", "Zg=a", "Zh==" };
	unsigned char all[256], *dec;
	char *enc;
	size_t len;

	enc = omv_base64_encode("foobar", 6);
	TCHECK(enc && strcmp(enc, "Zm9vYmFy") == 0);
	free(enc);
	dec = omv_base64_decode("Zm9vYg==", &len);
	TCHECK(dec && len == 4 && memcmp(dec, "foob", 5) == 0);	/* with its NUL */
	free(dec);
	for (size_t i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)(255 - i);
	enc = omv_base64_encode(all, sizeof all);
	dec = enc ? omv_base64_decode(enc, &len) : NULL;
	TCHECK(dec && len == sizeof all && memcmp(dec, all, len) == 0);
	free(enc);
	free(dec);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		len = 99;
		TCHECKF(omv_base64_decode(refused[i], &len) == NULL && len == 0, "accepted %s",
			refused[i]);
	}
}

static const struct t_case cases[] = {
	{ "connect", test_connect },
	{ "discovery", test_discovery },
	{ "ssh-string", test_ssh_string },
	{ "base64", test_base64 },
};

int main(int argc, char **argv)
{
	return t_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
