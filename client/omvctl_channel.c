/*
 * omvctl's channel commands: channels (the list with decoded flags), and
 * channel read / channel write.
 */
#include "omvctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CHANNEL_LIST flag bits, in bit order. */
static const char *const flag_names[] = {
	"read", "write", "exec", "lock", "stream", "dynamic", "physical",
};

/* "read,lock,stream"; unknown bits as "0x80"; "-" for none. */
static void flags_text(uint32_t flags, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned bit = 0; bit < 32 && n < size; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		if (bit < sizeof flag_names / sizeof flag_names[0])
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "",
					      flag_names[bit]);
		else
			n += (size_t)snprintf(buf + n, size - n, "%s0x%x", n ? "," : "", 1u << bit);
	}
	if (!buf[0])
		snprintf(buf, size, "-");
}

int cmd_channels(struct ctl *ctl, int argc, char **argv)
{
	omv_channel *list;
	json_t *res;
	size_t n;
	int rc;

	if ((rc = ctl_no_operands(ctl, argc, argv)) || (rc = ctl_connect(ctl)))
		return rc;
	if (ctl->json) {
		if (omv_client_call(ctl->c, "channel_list", NULL, &res) < 0)
			return ctl_fail(ctl);
		ctl_print_json(res);
		return EXIT_OK;
	}
	if (omv_client_channel_list(ctl->c, &list, &n) < 0)
		return ctl_fail(ctl);
	printf("%4s  %-14s %s\n", "id", "name", "flags");
	for (size_t i = 0; i < n; i++) {
		char flags[128];

		flags_text(list[i].flags, flags, sizeof flags);
		printf("%4d  %-14s %s (0x%02" PRIx32 ")\n", list[i].id, list[i].name, flags,
		       list[i].flags);
	}
	free(list);
	return EXIT_OK;
}

static int channel_read(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char *data;
	long size = -1;
	size_t len;
	int opt, rc;

	while ((opt = ctl_getopt(ctl, argc, argv, NULL, opts)) != -1) {
		if (opt != 'z')
			return EXIT_USAGE;
		size = ctl_parse_count(optarg);
		if (size < 0)
			return ctl_usage_error(ctl, "invalid --size '%s'", optarg);
	}
	if (optind != argc - 1)
		return ctl_usage_error(ctl, "read needs one channel NAME");
	if ((rc = ctl_connect(ctl)))
		return rc;
	if (omv_client_channel_read(ctl->c, argv[optind], size, &data, &len) < 0)
		return ctl_fail(ctl);
	if (!data)
		return ctl_error("no channel named '%s'", argv[optind]);
	if (ctl->json) {
		char *b64 = omv_base64_encode(data, len);

		ctl_print_json(json_pack("{s:s,s:I,s:s}", "name", argv[optind], "size",
					 (json_int_t)len, "data", b64 ? b64 : ""));
		free(b64);
	} else if (fwrite(data, 1, len, stdout) != len) {
		free(data);
		return ctl_error("writing output: %s", strerror(errno));
	}
	free(data);
	return EXIT_OK;
}

static int channel_write(struct ctl *ctl, int argc, char **argv)
{
	unsigned char *data;
	const char *name, *what;
	bool written;
	size_t len;
	int rc;

	if (ctl_getopt(ctl, argc, argv, NULL, NULL) != -1)
		return EXIT_USAGE;
	if (optind != argc - 2)
		return ctl_usage_error(ctl, "write needs NAME and DATA (or @FILE)");
	name = argv[optind];
	what = argv[optind + 1];
	if (what[0] == '@') {
		data = ctl_slurp(what + 1, &len);
		if (!data)
			return ctl_error("cannot read %s: %s", what + 1, strerror(errno));
	} else {
		len = strlen(what);
		data = (unsigned char *)strdup(what);
		if (!data)
			return ctl_error("out of memory");
	}
	if ((rc = ctl_connect(ctl))) {
		free(data);
		return rc;
	}
	rc = omv_client_channel_write(ctl->c, name, data, len, &written);
	free(data);
	if (rc < 0)
		return ctl_fail(ctl);
	if (!written)
		return ctl_error("no channel named '%s'", name);
	if (ctl->json)
		ctl_print_json(json_pack("{s:s,s:I}", "name", name, "written", (json_int_t)len));
	return EXIT_OK;
}

int cmd_channel(struct ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "read") == 0)
		return channel_read(ctl, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "write") == 0)
		return channel_write(ctl, argc - 1, argv + 1);
	return ctl_usage_error(ctl, "expected 'read' or 'write'");
}
