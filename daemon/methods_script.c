/* Methods about the cam's script: exec, stop, and stdout through the
 * client's own cursor into the daemon's history. */
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "rpc.h"
#include "rpc_server.h"
#include "stdout_log.h"
#include "utf8.h"

#define STDOUT_READ_CHUNK 65536

static void m_exec(struct rpc_call *call, json_t *params)
{
	const char *script;
	size_t len;

	if (param_string(call, params, "script", true, &script, &len) < 0 ||
	    !require_link(call))
		return;
	camera_exec(call_owner(call), script, len, done_null_state, call);
}

static void m_stop(struct rpc_call *call, json_t *params)
{
	if (require_link(call))
		camera_stop(call_owner(call), done_null_state, call);
}

static void m_read_stdout(struct rpc_call *call, json_t *params)
{
	struct rpc_client *c = call->client;
	const struct stdout_log *log = call_camera(call) ? camera_stdout(call_camera(call)) : NULL;
	uint64_t missed_total = 0;
	size_t len = 0, cap = 0, tail;
	char *text = NULL;
	json_t *jtext;

	while (log != NULL) {
		uint64_t missed = 0;
		size_t n;
		if (cap - len < STDOUT_READ_CHUNK) {
			char *grown = realloc(text, cap + STDOUT_READ_CHUNK);
			if (grown == NULL) {
				free(text);
				call_error(call, RPC_INTERNAL_ERROR, "out of memory", NULL);
				return;
			}
			text = grown;
			cap += STDOUT_READ_CHUNK;
		}
		n = stdout_log_read(log, &c->stdout_cursor, text + len, cap - len, &missed);
		missed_total += missed;
		len += n;
		if (n == 0)
			break;
	}
	/* A character split across two reads is returned whole next time. */
	tail = utf8_incomplete_tail(text, len);
	len -= tail;
	c->stdout_cursor -= tail;
	jtext = len > 0 ? utf8_json_string(text, len) : json_null();
	free(text);
	call_result(call, json_pack("{s:o, s:I}", "text", jtext, "missed", (json_int_t)missed_total));
}

static const char *const exec_params[] = { "script", NULL };

const struct method methods_script[] = {
	{ "exec", m_exec, exec_params },
	{ "stop", m_stop, NULL },
	{ "read_stdout", m_read_stdout, NULL },
	{ NULL, NULL, NULL },
};
