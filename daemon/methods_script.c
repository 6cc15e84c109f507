/* Methods about the cam's script: exec, stop, and stdout through the
 * client's own cursor into the daemon's history. */
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "rpc.h"
#include "rpc_server.h"
#include "stdout_log.h"
#include "utf8.h"

static void exec_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	struct rpc_server *server = call->client->server;	/* call ends below */
	uint64_t run;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	memcpy(&run, r->data, sizeof run);
	call_result(call, json_integer((json_int_t)run));
	rpc_server_announce_state(server);
}

static void m_exec(struct rpc_call *call, json_t *params)
{
	const char *script;
	size_t len;

	if (param_string(call, params, "script", true, &script, &len) < 0 ||
	    !require_link(call))
		return;
	camera_exec(call_owner(call), script, len, exec_done, call);
}

static void m_stop(struct rpc_call *call, json_t *params)
{
	if (require_link(call))
		camera_stop(call_owner(call), done_null_state, call);
}

size_t client_stdout_available(struct rpc_call *call)
{
	struct camera *cam = call_camera(call);
	const struct stdout_log *log;
	uint64_t from;

	if (cam == NULL)
		return 0;
	log = camera_stdout(cam);
	from = call->client->stdout_cursor;
	if (from < stdout_log_start(log))
		from = stdout_log_start(log);
	return stdout_log_end(log) > from ? (size_t)(stdout_log_end(log) - from) : 0;
}

char *client_stdout_take(struct rpc_call *call, size_t max, size_t *len)
{
	struct rpc_client *c = call->client;
	size_t want = client_stdout_available(call);
	uint64_t missed = 0;
	char *buf;

	*len = 0;
	if (want > max)
		want = max;
	buf = malloc(want > 0 ? want : 1);
	if (buf == NULL)
		return NULL;
	if (want > 0)
		*len = stdout_log_read(camera_stdout(call_camera(call)), &c->stdout_cursor, buf,
				       want, &missed);
	c->stats.stdout_missed += missed;
	return buf;
}

static void m_read_stdout(struct rpc_call *call, json_t *params)
{
	struct rpc_client *c = call->client;
	struct camera_shared sh = { 0 };
	size_t len, tail;
	char *text;

	if (call_camera(call) != NULL)
		camera_shared_state(call_camera(call), &sh);
	text = client_stdout_take(call, SIZE_MAX, &len);
	if (text == NULL) {
		call_error(call, RPC_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	/* While the script runs, a character split across two reads is
	 * returned whole next time. */
	tail = sh.script_running ? utf8_incomplete_tail(text, len) : 0;
	len -= tail;
	c->stdout_cursor -= tail;
	call_result(call, len > 0 ? utf8_json_string(text, len) : json_null());
	free(text);
}

static const char *const exec_params[] = { "script", NULL };

const struct method methods_script[] = {
	{ "exec", m_exec, exec_params },
	{ "stop", m_stop, NULL },
	{ "read_stdout", m_read_stdout, NULL },
	{ NULL, NULL, NULL },
};
