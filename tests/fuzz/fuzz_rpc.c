/*
 * Harness: the JSON-RPC path from raw client bytes. Each input is what one
 * client (or two at once) sends on a fresh connection before it shuts
 * down its writing side: line framing, parsing, batches, notifications
 * and dispatch of any method, served by the real server and camera
 * against the fake cam, all in this process. Once the daemon has answered
 * everything and closed the connections, each client's output must be
 * JSON-RPC 2.0 answering its requests one for one (jsonrpc_check.c), and
 * the clients must be gone.
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
/* What follows the first of these (ASCII RS, never part of JSON text) is
 * a second client's, talking at the same time: locks, shared state. */
#define NEXT_CLIENT 0x1E

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_world *w = fuzz_world_get(true, MAX_REQUEST);
	const uint8_t *next = memchr(data, NEXT_CLIENT, size);
	struct fuzz_talk t[2] = { { data, size, NULL, 0 }, { NULL, 0, NULL, 0 } };
	size_t n = 1;

	if (next != NULL) {
		t[0].in_len = (size_t)(next - data);
		t[1].in = next + 1;
		t[1].in_len = size - t[0].in_len - 1;
		n = 2;
	}
	/* Output from the cam costs round trips: only for inputs that read it. */
	fuzz_world_ready(w, memmem(data, size, "stdout", 6) != NULL);
	fuzz_talk(w, t, n, EXCHANGE_MS);
	for (size_t i = 0; i < n; i++) {
		if (getenv("OMVD_FUZZ_SHOW") != NULL) {
			printf("--- client %zu\n", i + 1);
			fwrite(t[i].out, 1, t[i].out_len, stdout);
		}
		jrc_check_exchange(t[i].in, t[i].in_len, MAX_REQUEST, t[i].out, t[i].out_len);
		free(t[i].out);
	}
	if (w->server->nclients != 0)
		fuzz_fail("%u clients still counted after the last one left", w->server->nclients);
	return 0;
}
