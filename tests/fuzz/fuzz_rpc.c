/*
 * Harness: the JSON-RPC path from raw client bytes. Each input is what one
 * client sends on a fresh connection before it shuts down its writing
 * side: line framing, parsing, batches, notifications and dispatch of any
 * method, served by the real server and camera against the fake cam over
 * a pty, all in this process. Once the daemon has answered everything and
 * closed the connection, the output must be JSON-RPC 2.0 answering the
 * requests one for one (jsonrpc_check.c), and the client must be gone.
 *
 * The cam state carries over from input to input (a script left running,
 * a frame waiting, the link reset by the previous input), as it would for
 * a daemon serving client after client. With OMVD_FUZZ_SHOW set in the
 * environment the daemon's output is printed (to look at one input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/rpc_server.h"
#include "fuzz.h"
#include "fuzz_world.h"
#include "jsonrpc_check.h"

/* Below libFuzzer's default input size, so that long lines get -32007. */
#define MAX_REQUEST 4000
/* Far above what any input needs (the cam answers within a few ms): the
 * daemon keeping a client this long is a finding. */
#define EXCHANGE_MS 20000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_world *w = fuzz_world_get(true, MAX_REQUEST);
	size_t out_len;
	char *out;

	/* Output from the cam costs round trips: only for inputs that read it. */
	fuzz_world_ready(w, memmem(data, size, "stdout", 6) != NULL);
	out = fuzz_exchange(w, fuzz_connect(w), data, size, &out_len, EXCHANGE_MS);
	if (getenv("OMVD_FUZZ_SHOW") != NULL)
		fwrite(out, 1, out_len, stdout);
	jrc_check_exchange(data, size, MAX_REQUEST, out, out_len);
	if (w->server->nclients != 0)
		fuzz_fail("%u clients still counted after the last one left", w->server->nclients);
	free(out);
	return 0;
}
