/*
 * camsim: the cam's side of reliability. A withheld ACK brings an RTX; a
 * NAK for the packet the cam waits to have ACKed brings it at once (the
 * firmware's rule), one while nothing waits is ignored; a command with a
 * bad header gets no answer, one with a bad payload NAK CHECKSUM; a
 * glitch (the cam silent for a while mid-answer) costs time, not data;
 * injected corruption, drops and garbage (seeded) may fail commands but
 * never produce a wrong answer, and after a SYNC everything works again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simhost.h"

static bool rtx_arrived(struct sh *h)
{
	return h->rtx_seen > 0;
}

/* A fresh camsim, handshaken at this max payload; its SYS_INFO answer. */
static void start_cam(struct sh *h, uint16_t max_payload, uint8_t info[OMV_SYSINFO_SIZE])
{
	sh_start(h, NULL);
	sh_open(h, B921600);
	sh_handshake(h, max_payload);
	sh_ok(h, OMV_OP_SYS_INFO, 0, NULL, 0);
	memcpy(info, h->data, OMV_SYSINFO_SIZE);
}

static void check_retransmission(void)
{
	struct sh h;
	struct omv_proto_stats st;
	uint8_t info[OMV_SYSINFO_SIZE];
	json_t *j;

	start_cam(&h, 4082, info);

	h.withhold_acks = 1;
	sh_ok(&h, OMV_OP_SYS_INFO, 0, NULL, 0);
	CHECK(h.acks_withheld == 1 && h.rtx_seen == 0);
	/* the cam resends after 500 ms; the host ACKs the duplicate */
	CHECKF(sh_run(&h, 1500, rtx_arrived), "no retransmission");
	CHECK(h.host.stats.duplicates >= 1);
	sh_ok(&h, OMV_OP_PROTO_STATS, 0, NULL, 0);
	CHECK(omv_stats_decode(&st, h.data, h.len) == 0 && st.retransmit == 1);
	sh_ok(&h, OMV_OP_SYS_INFO, 0, NULL, 0);
	CHECK(h.len == sizeof info && !memcmp(h.data, info, sizeof info));
	j = sh_control(&h, "stats");
	CHECK(json_integer_value(json_object_get(json_object_get(j, "proto_stats"),
						 "retransmit")) == 1);
	json_decref(j);
	sh_stop(&h);
}

static json_t *proto_stats(struct sh *h, json_t **all)
{
	*all = sh_control(h, "stats");
	return json_object_get(*all, "proto_stats");
}

static long long proto_stat(struct sh *h, const char *key)
{
	json_t *all, *p = proto_stats(h, &all);
	long long v = json_integer_value(json_object_get(p, key));

	json_decref(all);
	return v;
}

static bool cam_gave_up(struct sh *h)
{
	return proto_stat(h, "transport") == 1;
}

/* With raw packets: the NAK rule, and what the cam does with commands it
 * cannot read. */
static void check_nak_rule(void)
{
	struct sh h;
	struct omv_packet p;
	uint8_t info[OMV_SYSINFO_SIZE], req[12];

	start_cam(&h, 60, info);	/* SYS_INFO (76 bytes) in two fragments */
	uint8_t s = h.host.seq;

	/* A NAK for the fragment awaiting its ACK: the same fragment again. */
	sh_send_raw(&h, s, 0, 0, OMV_OP_SYS_INFO, NULL, 0, 0);
	CHECK(sh_recv_raw(&h, &p, 2000));
	CHECK(p.seq == s && (p.flags & OMV_F_FRAGMENT) && (p.flags & OMV_F_ACK_REQ) &&
	      !(p.flags & OMV_F_RTX) && p.length == 60 && !memcmp(p.payload, info, 60));
	sh_send_raw(&h, s, 0, OMV_F_NAK, OMV_OP_SYS_INFO, NULL, 0, 0);
	CHECK(sh_recv_raw(&h, &p, 2000));
	CHECK(p.seq == s && (p.flags & OMV_F_RTX) && p.length == 60 &&
	      !memcmp(p.payload, info, 60));
	CHECK(proto_stat(&h, "retransmit") == 1);
	sh_send_raw(&h, s, 0, OMV_F_ACK, OMV_OP_SYS_INFO, NULL, 0, 0);
	CHECK(sh_recv_raw(&h, &p, 2000));
	CHECK(p.seq == (uint8_t)(s + 1) && !(p.flags & OMV_F_FRAGMENT) && p.length == 16 &&
	      !memcmp(p.payload, info + 60, 16));
	sh_send_raw(&h, p.seq, 0, OMV_F_ACK, OMV_OP_SYS_INFO, NULL, 0, 0);

	/* Nothing waits now: a NAK (or ACK) changes nothing. */
	sh_send_raw(&h, p.seq, 0, OMV_F_NAK, OMV_OP_SYS_INFO, NULL, 0, 0);
	sh_send_raw(&h, p.seq, 0, OMV_F_ACK, OMV_OP_SYS_INFO, NULL, 0, 0);
	CHECK(!sh_recv_raw(&h, &p, 700));
	CHECK(proto_stat(&h, "retransmit") == 1);

	/* Each NAK is one of the cam's three tries: the fourth makes it give
	 * up and reset at once (its own timer would take 7.5 s). */
	s = (uint8_t)(s + 2);
	sh_send_raw(&h, s, 0, 0, OMV_OP_SYS_INFO, NULL, 0, 0);
	CHECK(sh_recv_raw(&h, &p, 2000) && p.seq == s && !(p.flags & OMV_F_RTX));
	for (int i = 0; i < 4; i++)
		sh_send_raw(&h, s, 0, OMV_F_NAK, OMV_OP_SYS_INFO, NULL, 0, 0);
	for (int i = 0; i < 3; i++)
		CHECK(sh_recv_raw(&h, &p, 2000) && p.seq == s && (p.flags & OMV_F_RTX));
	CHECKF(sh_run(&h, 2000, cam_gave_up), "the fourth NAK did not end it");
	CHECK(proto_stat(&h, "retransmit") == 4);
	CHECK(sh_stat(&h, "seq") == 0);

	/* A header that does not check out: no answer, and the cam's counter
	 * does not move; the same command intact is answered under seq 0. */
	sh_send_raw(&h, 0, 0, 0, OMV_OP_SYS_INFO, NULL, 0, 2);
	CHECK(!sh_recv_raw(&h, &p, 300));
	sh_send_raw(&h, 0, 0, 0, OMV_OP_SYS_INFO, NULL, 0, 0);
	CHECK(sh_recv_raw(&h, &p, 2000) && p.seq == 0 && p.length == OMV_SYSINFO_SIZE &&
	      (p.flags & OMV_F_ACK) && !memcmp(p.payload, info, sizeof info));
	sh_send_raw(&h, 0, 0, OMV_F_ACK, OMV_OP_SYS_INFO, NULL, 0, 0);

	/* A sound header, a bad payload CRC: NAK CHECKSUM at once. */
	long long checksum = proto_stat(&h, "checksum");
	size_t n = omv_write_req_encode(0, "abcd", 4, req, sizeof req);
	sh_send_raw(&h, 1, OMV_CHAN_STDIN, 0, OMV_OP_CHANNEL_WRITE, req, (uint16_t)n, 1);
	CHECK(sh_recv_raw(&h, &p, 2000));
	CHECK(p.seq == 1 && p.chan == OMV_CHAN_STDIN && (p.flags & OMV_F_NAK) &&
	      p.opcode == OMV_OP_CHANNEL_WRITE && p.length == 2 &&
	      omv_get_u16(p.payload) == OMV_ST_CHECKSUM);
	CHECK(proto_stat(&h, "checksum") > checksum);

	/* and the host state machine takes over again */
	sh_handshake(&h, 4082);
	sh_ok(&h, OMV_OP_SYS_INFO, 0, NULL, 0);
	CHECK(h.len == sizeof info && !memcmp(h.data, info, sizeof info));
	sh_stop(&h);
}

static bool glitch_over(struct sh *h)
{
	return sh_stat(h, "silent") == 0;
}

/* "glitch MS": the cam goes silent mid-answer (its next fragment that has
 * more after it). The answer is late, never wrong; a glitch longer than
 * the host's patience ends the command, and the link comes back. */
static void check_glitch(void)
{
	struct sh h;
	uint8_t info[OMV_SYSINFO_SIZE];
	json_t *j;

	start_cam(&h, 60, info);

	j = sh_control(&h, "glitch 150");
	CHECK(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	uint64_t t0 = sh_now_ms();
	sh_ok(&h, OMV_OP_SYS_INFO, 0, NULL, 0);
	CHECK(sh_now_ms() - t0 >= 150);
	CHECK(h.len == sizeof info && !memcmp(h.data, info, sizeof info));

	json_decref(sh_control(&h, "glitch 1500"));
	CHECK(sh_cmd(&h, OMV_OP_SYS_INFO, 0, NULL, 0, 500) == OMV_ERR_TIMEOUT);
	CHECK(sh_stat(&h, "silent") == 1);
	CHECK(sh_run(&h, 5000, glitch_over));
	sh_handshake(&h, 60);
	sh_ok(&h, OMV_OP_SYS_INFO, 0, NULL, 0);
	CHECK(h.len == sizeof info && !memcmp(h.data, info, sizeof info));

	j = sh_control(&h, "glitch 0");
	CHECK(json_is_false(json_object_get(j, "ok")));
	json_decref(j);
	sh_stop(&h);
}

static bool command_done(struct sh *h)
{
	return h->done;
}

#define ROUNDS 12

/* Under faults: SYS_INFO over and over, resyncing after each failure.
 * Returns how many answers got through; they are kept in got[]. */
static unsigned faulty_rounds(struct sh *h, uint8_t got[][OMV_SYSINFO_SIZE])
{
	unsigned ok = 0;
	bool synced = false;

	for (unsigned i = 0; i < ROUNDS; i++) {
		if (!synced) {
			struct omv_caps caps = { true, true, true, true, 4082 };
			if (sh_sync(h, 700) != OMV_OK)
				continue;
			h->done = false;
			CHECK(omv_host_set_caps(&h->host, &caps, sh_now_ms(), 700) == 0);
			if (!sh_run(h, 1700, command_done) || h->code != OMV_OK)
				continue;
			synced = true;
		}
		if (sh_cmd(h, OMV_OP_SYS_INFO, 0, NULL, 0, 700) != OMV_OK) {
			synced = false;
			continue;
		}
		CHECKF(h->len == OMV_SYSINFO_SIZE, "a %zu-byte SYS_INFO got through", h->len);
		memcpy(got[ok++], h->data, OMV_SYSINFO_SIZE);
	}
	return ok;
}

static void check_faults(void)
{
	struct sh h;
	const char *extra[] = { "--seed", "7", "--corrupt-rate", "0.15", "--drop-rate", "0.05",
				"--garbage-rate", "0.2", NULL };
	uint8_t got[ROUNDS][OMV_SYSINFO_SIZE];
	unsigned ok;
	long long injected;

	sh_start(&h, extra);
	sh_open(&h, B921600);
	ok = faulty_rounds(&h, got);
	injected = sh_stat(&h, "corrupted_out") + sh_stat(&h, "corrupted_in") +
		   sh_stat(&h, "dropped_out") + sh_stat(&h, "dropped_in");
	CHECKF(injected > 0, "no faults injected");
	CHECK(sh_stat(&h, "garbage_out") + sh_stat(&h, "garbage_in") > 0);
	CHECKF(ok > 0, "nothing got through");

	/* heal the link: after a SYNC everything works again */
	json_decref(sh_control(&h, "set corrupt-rate 0"));
	json_decref(sh_control(&h, "set drop-rate 0"));
	json_decref(sh_control(&h, "set garbage-rate 0"));
	sh_handshake(&h, 4082);
	for (int i = 0; i < 10; i++)
		sh_ok(&h, OMV_OP_SYS_INFO, 0, NULL, 0);
	/* every answer that got through under faults was the right one */
	for (unsigned i = 0; i < ok; i++)
		CHECKF(!memcmp(got[i], h.data, OMV_SYSINFO_SIZE), "answer %u was wrong", i);
	sh_stop(&h);
}

/* Faults from the command line, with the output shaped: still correct. */
static void check_shaped(void)
{
	struct sh h;
	const char *extra[] = { "--delay-ms", "5", "--link-rate", "200000",
				"--link-latency-us", "2000", NULL };
	uint64_t t0;
	uint8_t req[OMV_READ_REQ_SIZE];

	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	/* 16 KiB of frame at 200 kB/s takes at least ~80 ms */
	uint8_t arg[4];
	omv_put_u32(arg, 1);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 4, OMV_ST_SUCCESS);
	CHECK(sh_wait_event(&h, OMV_CHAN_STREAM, OMV_EV_NOTIFY, 1000));
	sh_ok(&h, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STREAM, NULL, 0);
	uint32_t size = sh_u32(&h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STREAM);
	omv_read_req_encode(0, size, req);
	t0 = sh_now_ms();
	sh_ok(&h, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req, sizeof req);
	CHECK(h.len == size);
	CHECKF(sh_now_ms() - t0 >= (uint64_t)size * 1000 / 200000,
	       "%u bytes in %llu ms at 200 kB/s", size, (unsigned long long)(sh_now_ms() - t0));
	sh_ok(&h, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_STREAM, NULL, 0);
	sh_stop(&h);
}

int main(void)
{
	check_retransmission();
	check_nak_rule();
	check_glitch();
	check_faults();
	check_shaped();
	puts("ok");
	return 0;
}
