/*
 * Real clients of omv-web, when they are installed (skipped otherwise):
 *
 *   ffprobe    ffprobe reads /stream.mjpg at the cam's size
 *   browser    the page in headless Chromium (browser.js)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "web_case.h"

/* The program's path when it is installed, else NULL. */
static const char *which(const char *name)
{
	static char path[4096];
	const char *dirs = getenv("PATH");

	for (const char *d = dirs ? dirs : "/usr/bin:/bin"; *d;) {
		size_t n = strcspn(d, ":");

		snprintf(path, sizeof path, "%.*s/%s", (int)n, d, name);
		if (access(path, X_OK) == 0)
			return path;
		d += n + (d[n] == ':');
	}
	return NULL;
}

static void test_ffprobe(void)
{
	const char *ffprobe = which("ffprobe");
	char url[256], *line;
	const char *argv[] = { ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
			       "stream=codec_name,width,height", "-of", "default=nw=1", url, NULL };
	bool codec = false, width = false, height = false;
	struct h_proc p;

	if (!ffprobe)
		web_skip("ffprobe is not installed (apt-get install ffmpeg)");
	start_all_size(NULL, "640x480");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/stream.mjpg?token=" TOKEN, port);
	argv[0] = ffprobe = strdup(ffprobe);
	p = h_spawn((char *const *)argv, true);
	while ((line = h_read_line(&p, 30000)) != NULL) {
		codec |= strcmp(line, "codec_name=mjpeg") == 0;
		width |= strcmp(line, "width=640") == 0;
		height |= strcmp(line, "height=480") == 0;
		free(line);
	}
	CHECK(exit_status(&p, 30000) == 0);
	CHECKF(codec && width && height, "ffprobe did not see 640x480 MJPEG");
	free((char *)ffprobe);
}

static void test_browser(void)
{
	const char *node = which("node");
	const char *script = getenv("OMV_WEB_BROWSER_JS");
	const char *shots = getenv("OMV_WEB_SCREENSHOTS");
	char url[256], shots_dir[4096];
	const char *argv[] = { NULL, script, url, shots_dir, NULL };
	struct h_proc p;
	int status;

	if (!node)
		web_skip("node is not installed (apt-get install nodejs)");
	CHECKF(script != NULL, "OMV_WEB_BROWSER_JS is not set");
	argv[0] = node = strdup(node);
	snprintf(shots_dir, sizeof shots_dir, "%s", shots ? shots : h_path("shots"));
	start_all(NULL);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/?token=" TOKEN, port);
	p = h_spawn((char *const *)argv, false);
	status = exit_status(&p, 100000);
	free((char *)node);
	CHECKF(status == 0 || status == SKIP, "browser test failed (%d)", status);
	if (status == SKIP)
		exit(SKIP);	/* browser.js said why */
}

int main(int argc, char **argv)
{
	static const struct web_case cases[] = {
		{ "ffprobe", test_ffprobe }, { "browser", test_browser },
	};

	return web_case_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
