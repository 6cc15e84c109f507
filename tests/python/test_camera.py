"""Every method of the openmv package's Camera through omvd.Camera, with
the values and shapes the openmv package documents."""

import logging
import struct
import unittest
import warnings

import omvd
from omvd import Camera, Opcode
from omvtest import (CALL_TIMEOUT, CHANNEL_SCRIPT, JPEG, RGB565, Rig, barcode, read_until,
                     wait_until)

PMU_EVENTS = 2
rig = None


def setUpModule():
    global rig
    rig = Rig(camsim_args=["--profile", "--pmu-events", str(PMU_EVENTS),
                           "--fw-version", "5.1.2", "--protocol-version", "1.0.2",
                           "--bootloader-version", "1.0.3", "--usb-pid", "0x1206",
                           "--flash-kb", "4096", "--ram-kb", "2048"])


def tearDownModule():
    rig.close()


class CameraTest(unittest.TestCase):
    def setUp(self):
        self.cam = Camera(rig.socket, timeout=CALL_TIMEOUT)
        self.cam.connect()

    def tearDown(self):
        self.cam.disconnect()

    def run_channel_script(self):
        self.assertIsNone(self.cam.exec(CHANNEL_SCRIPT))
        read_until(self.cam, "channels ready")
        wait_until(lambda: self.cam.has_channel("buf"), what="channel buf")


class ConnectionTest(CameraTest):
    def test_connect_and_disconnect(self):
        self.assertIs(self.cam.is_connected(), True)
        self.assertIsNone(self.cam.disconnect())
        self.assertIs(self.cam.is_connected(), False)
        self.assertIsNone(self.cam.connect())
        self.assertIs(self.cam.is_connected(), True)

    def test_context_manager(self):
        with Camera(rig.socket, timeout=CALL_TIMEOUT) as cam:
            self.assertIsInstance(cam, Camera)
            self.assertIs(cam.is_connected(), True)
            self.assertEqual(cam.version()["firmware_version"], (5, 1, 2))
        self.assertIs(cam.is_connected(), False)
        self.assertTrue(cam.closed)

    def test_context_manager_closes_on_error(self):
        with self.assertRaises(KeyError):
            with Camera(rig.socket, timeout=CALL_TIMEOUT) as cam:
                raise KeyError("x")
        self.assertTrue(cam.closed)

    def test_defaults_match_the_package(self):
        cam = Camera(rig.socket)
        self.assertEqual(cam.timeout, 1.0)
        self.assertEqual(cam.baudrate, 921600)
        self.assertEqual(cam.caps, {"crc": True, "seq": True, "ack": True, "events": True,
                                    "max_payload": 4096})
        self.assertEqual(cam.max_retry, 3)
        self.assertEqual(cam.drop_rate, 0.0)

    def test_negotiated_caps(self):
        self.assertEqual(set(self.cam.caps), {"crc", "seq", "ack", "events", "max_payload"})
        self.assertEqual(self.cam.caps["max_payload"], 4082)  # camsim's, below the 4096 asked

    def test_update_capabilities(self):
        self.assertIsNone(self.cam.update_capabilities())
        self.assertEqual(self.cam.caps["crc"], True)
        self.assertIs(self.cam.is_connected(), True)

    def test_resync(self):
        self.assertIsNone(self.cam._resync())
        self.assertGreaterEqual(len(self.cam._channel_list()), 4)


class OptionsTest(unittest.TestCase):
    def connect_warnings(self, **options):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with Camera(rig.socket, timeout=CALL_TIMEOUT, **options):
                pass
        return [w for w in caught if issubclass(w.category, omvd.OptionWarning)]

    def test_defaults_do_not_warn(self):
        self.assertEqual(self.connect_warnings(), [])
        self.assertEqual(self.connect_warnings(max_payload=8192), [])

    def test_daemon_options_warn_once(self):
        caught = self.connect_warnings(crc=False, ack=False, max_payload=1024, drop_rate=0.5,
                                       max_retry=5, baudrate=115200)
        self.assertEqual(len(caught), 1)
        text = str(caught[0].message)
        for name in ("crc=False", "ack=False", "max_payload=1024", "drop_rate=0.5",
                     "max_retry=5", "baudrate=115200"):
            self.assertIn(name, text)
        self.assertNotIn("seq", text)

    def test_events_false_is_honoured(self):
        got = []

        class Quiet(Camera):
            def _handle_event(self, channel_id, event):
                got.append((channel_id, event))

        with Quiet(rig.socket, timeout=CALL_TIMEOUT, events=False) as cam:
            me = [c for c in cam.clients() if c["self"]][0]
            self.assertNotIn("event", me["subscriptions"])
            cam.exec('print("quiet")')
            read_until(cam, "quiet\nMPY: soft reboot\n")
            cam.poll_events()
        self.assertEqual(got, [])


class DeviceTest(CameraTest):
    def test_version(self):
        self.assertEqual(self.cam.version(), {
            "protocol_version": (1, 0, 2),
            "bootloader_version": (1, 0, 3),
            "firmware_version": (5, 1, 2),
        })

    def test_system_info(self):
        info = self.cam.system_info()
        flags = ["gpu", "npu", "isp", "venc", "jpeg", "dram", "crc", "pmu", "wifi", "bt", "sd",
                 "eth", "multicore"]
        self.assertEqual(set(info), {
            "cpu_id", "device_id", "chip_id", "usb_vid", "usb_pid", "flash_size_kb",
            "ram_size_kb", "framebuffer_size_kb", "stream_buffer_size_kb", "usb_highspeed",
            "pmu_eventcnt", *(f + "_present" for f in flags)})
        for key in ("device_id", "chip_id"):
            self.assertIsInstance(info[key], tuple)
            self.assertEqual(len(info[key]), 3)
            self.assertTrue(all(isinstance(w, int) and 0 <= w < 2**32 for w in info[key]))
        self.assertEqual((info["usb_vid"], info["usb_pid"]), (0x37C5, 0x1206))
        self.assertEqual((info["flash_size_kb"], info["ram_size_kb"]), (4096, 2048))
        self.assertEqual(info["pmu_eventcnt"], PMU_EVENTS)
        for f in flags:
            self.assertIsInstance(info[f + "_present"], bool)
        self.assertIsInstance(info["usb_highspeed"], bool)
        self.assertIsInstance(info["cpu_id"], int)

    def test_print_system_info(self):
        with self.assertLogs("omvd", logging.INFO) as logs:
            self.assertIsNone(self.cam.print_system_info())
        text = "\n".join(logs.output)
        self.assertIn(f"0x{self.cam.system_info()['cpu_id']:08X}", text)
        self.assertIn("37C5:1206", text)
        self.assertIn("5.1.2", text)

    def test_host_stats(self):
        before = self.cam.host_stats()
        self.assertEqual(set(before), {"sent", "received", "checksum", "sequence"})
        self.cam.device_stats()
        after = self.cam.host_stats()
        self.assertGreater(after["sent"], before["sent"])
        self.assertGreater(after["received"], before["received"])

    def test_device_stats(self):
        stats = self.cam.device_stats()
        self.assertEqual(set(stats), {"sent", "received", "checksum", "sequence", "retransmit",
                                      "transport", "sent_events", "max_ack_queue_depth"})
        self.assertTrue(all(isinstance(v, int) for v in stats.values()))
        self.assertGreater(stats["received"], 0)


class ScriptTest(CameraTest):
    def test_exec_and_read_stdout(self):
        self.assertIsNone(self.cam.exec('print("hello from the cam")'))
        self.assertIsInstance(self.cam.run_id, int)
        # (first what the previous run printed: a new client starts there)
        read_until(self.cam, "hello from the cam\nMPY: soft reboot\n")
        self.assertIsNone(self.cam.read_stdout())

    def test_run_ids_grow(self):
        self.cam.exec('print("one")')
        first = self.cam.run_id
        self.cam.exec('print("two")')
        self.assertEqual(self.cam.run_id, first + 1)
        read_until(self.cam, "two")

    def test_stop(self):
        self.cam.exec('while True:\n    print("looping")\n    time.sleep_ms(10)\n')
        read_until(self.cam, "looping")
        self.assertIsNone(self.cam.stop())
        wait_until(lambda: not self.cam.status()["shared"]["script_running"],
                   what="the script to stop")
        read_until(self.cam, "MPY: soft reboot")


class StreamTest(CameraTest):
    def next_frame(self):
        return wait_until(self.cam.read_frame, what="a frame")

    def test_jpeg_stream(self):
        self.assertIsNone(self.cam.streaming(True))
        try:
            first = self.next_frame()
            second = self.next_frame()
        finally:
            self.cam.streaming(False)
        for frame in (first, second):
            self.assertLessEqual({"width", "height", "format", "depth", "data", "raw_size"},
                                 set(frame))
            self.assertEqual((frame["width"], frame["height"]), (320, 240))
            self.assertEqual(frame["format"], JPEG)
            self.assertIsInstance(frame["data"], bytes)
            self.assertEqual(len(frame["data"]), 320 * 240 * 3)
            self.assertGreater(frame["depth"], 0)
            self.assertGreater(frame["raw_size"], 0)
            self.assertIsInstance(frame["number"], int)
            self.assertIsInstance(frame["timestamp"], float)
        self.assertGreater(second["number"], first["number"])
        self.assertGreater(barcode(second), barcode(first))

    def test_raw_stream(self):
        self.cam.streaming(True, raw=True, resolution=(160, 120))
        try:
            frame = wait_until(
                lambda: (f := self.cam.read_frame()) and f["format"] == RGB565 and f,
                what="a raw frame")
        finally:
            self.cam.streaming(False)
        self.assertEqual((frame["width"], frame["height"]), (160, 120))
        self.assertEqual(len(frame["data"]), 160 * 120 * 3)
        self.assertGreater(barcode(frame), 0)

    def test_no_new_frame_is_none(self):
        self.cam.streaming(True)
        self.next_frame()
        self.cam.streaming(False)
        wait_until(lambda: self.cam.read_frame() is None, what="read_frame() to be None")


class ChannelTest(CameraTest):
    def test_named_channels(self):
        self.run_channel_script()
        self.assertIs(self.cam.has_channel("ticks"), True)
        self.assertEqual(self.cam.channel_size("ticks"), 10)
        ticks = self.cam.channel_read("ticks")
        self.assertIsInstance(ticks, bytes)
        self.assertEqual(len(ticks), 10)
        self.assertTrue(ticks.isdigit())
        self.assertEqual(len(self.cam.channel_read("ticks", 4)), 4)
        self.assertIs(self.cam.channel_write("buf", b"hello"), True)
        self.assertEqual(self.cam.channel_size("buf"), 5)
        self.assertEqual(self.cam.channel_read("buf"), b"hello")
        self.assertIs(self.cam.channel_write("buf", memoryview(b"bytes-like")), True)
        self.assertEqual(self.cam.channel_read("buf"), b"bytes-like")

    def test_missing_channel(self):
        self.assertIs(self.cam.has_channel("nosuch"), False)
        self.assertEqual(self.cam.channel_size("nosuch"), 0)
        self.assertIsNone(self.cam.channel_read("nosuch"))
        self.assertIs(self.cam.channel_write("nosuch", b"x"), False)
        self.assertIsNone(self.cam.get_channel("nosuch"))
        self.assertIsNone(self.cam.get_channel(channel_id=200))

    def test_read_status(self):
        self.run_channel_script()
        self.cam.channel_write("buf", b"data")
        status = self.cam.read_status()
        self.assertIsInstance(status, dict)
        self.assertTrue(all(isinstance(k, str) and isinstance(v, bool) for k, v in status.items()))
        self.assertIs(status["buf"], True)
        self.assertIs(status["ticks"], True)
        self.assertIn("stdin", status)

    def test_get_channel(self):
        self.run_channel_script()
        buf = self.cam.get_channel("buf")
        self.assertIsInstance(buf, int)
        self.assertEqual(self.cam.get_channel(channel_id=buf), "buf")
        self.assertEqual(self.cam.get_channel(name="stdin"), 1)
        with self.assertRaises(ValueError):
            self.cam.get_channel()

    def test_update_channels(self):
        self.cam.exec('print("no channels")')
        read_until(self.cam, "no channels\nMPY: soft reboot\n")
        self.assertIsNone(self.cam.update_channels())
        self.assertNotIn("buf", self.cam.channels_by_name)
        self.run_channel_script()
        self.assertIsNone(self.cam.update_channels())
        self.assertIn("buf", self.cam.channels_by_name)
        buf = self.cam.channels_by_name["buf"]
        self.assertEqual(self.cam.channels_by_id[buf]["name"], "buf")

    def test_channel_list(self):
        self.run_channel_script()
        channels = self.cam._channel_list()
        self.assertIsInstance(channels, dict)
        self.assertTrue(all(isinstance(k, int) for k in channels))
        for cid, ch in channels.items():
            self.assertEqual(set(ch), {"name", "flags"})
            self.assertIsInstance(ch["flags"], int)
        names = {ch["name"]: cid for cid, ch in channels.items()}
        self.assertEqual((names["stdin"], names["stdout"], names["stream"]), (1, 2, 3))
        self.assertIn("ticks", names)
        self.assertIn("buf", names)

    def test_channels_by_id(self):
        self.run_channel_script()
        self.assertIn("buf", self.cam.channels_by_name)
        self.assertEqual(self.cam.channels_by_id[3]["name"], "stream")

    def test_by_id_methods(self):
        self.run_channel_script()
        buf = self.cam.get_channel("buf")
        self.assertIsNone(self.cam._channel_write(buf, b"hello world"))
        self.assertEqual(self.cam._channel_size(buf), 11)
        data = self.cam._channel_read(buf, 6, 5)
        self.assertIsInstance(data, bytes)
        self.assertEqual(data, b"world")
        self.assertIsNone(self.cam._channel_write(buf, b"HE", 0))
        self.assertEqual(self.cam._channel_read(buf, 0, 2), b"HE")

    def test_lock_and_read_records(self):
        profile = self.cam.get_channel("profile")
        first = wait_until(self.cam.read_profile, what="profile records")[0]
        # The cam refuses a lock within 10 ms of the previous one: False, not an error.
        self.assertIs(wait_until(lambda: self.cam._channel_lock(profile), what="the lock"), True)
        try:
            count, size = self.cam._channel_shape(profile)
            self.assertEqual(self.cam._channel_size(profile), count * size)
            record = self.cam._channel_read(profile, 0, size)
            self.assertEqual(len(record), size)
            self.assertEqual(struct.unpack_from("<I", record)[0], first["address"])
        finally:
            self.assertIs(self.cam._channel_unlock(profile), True)

    def test_channel_shape(self):
        profile = self.cam.get_channel("profile")
        shape = self.cam._channel_shape(profile)
        self.assertIsInstance(shape, tuple)
        self.assertEqual(len(shape), 2)
        count, record_size = shape
        self.assertEqual(record_size, struct.calcsize(f"<5I2Q{PMU_EVENTS}QI"))
        self.assertGreater(count, 0)

    def test_channel_ioctl(self):
        profile = self.cam.get_channel("profile")
        self.assertIs(self.cam._channel_ioctl(profile, 2), True)            # RESET
        self.assertIs(self.cam._channel_ioctl(profile, 0, "I", 1), True)    # MODE exclusive
        self.assertIs(self.cam._channel_ioctl(profile, 0, "I", 0), True)
        with self.assertRaises(omvd.OMVException):
            self.cam._channel_ioctl(profile, 1, "I", 0)   # SET_EVENT needs two values

    def test_send_cmd_wait_resp(self):
        stats = self.cam._send_cmd_wait_resp(Opcode.PROTO_STATS)
        self.assertIsInstance(stats, bytes)
        self.assertEqual(len(stats), 32)
        version = self.cam._send_cmd_wait_resp(Opcode.PROTO_VERSION, 0, b"")
        self.assertEqual(tuple(version[0:3]), (1, 0, 2))
        self.assertEqual(tuple(version[6:9]), (5, 1, 2))


class ProfilerTest(CameraTest):
    def test_read_profile(self):
        self.assertIsNone(self.cam.profiler_reset())
        records = wait_until(lambda: (r := self.cam.read_profile()) and r[0]["call_count"] and r,
                             what="profile records")
        self.assertIsInstance(records, list)
        for r in records:
            self.assertEqual(set(r), {"address", "caller", "call_count", "min_ticks", "max_ticks",
                                      "total_ticks", "total_cycles", "events"})
            self.assertIsInstance(r["events"], tuple)
            self.assertEqual(len(r["events"]), PMU_EVENTS)

    def test_profiler_event(self):
        self.cam.profiler_reset()
        self.assertIsNone(self.cam.profiler_event(1, 3))
        records = wait_until(lambda: (r := self.cam.read_profile()) and r[0]["call_count"] and r,
                             what="profile records")
        for r in records:
            self.assertEqual(r["events"][1], r["call_count"] * 4)
        self.cam.profiler_reset()

    def test_profiler_mode(self):
        self.assertIsNone(self.cam.profiler_mode(exclusive=True))
        self.assertIsNone(self.cam.profiler_mode())
        self.assertIsNone(self.cam.profiler_reset(None))


class EventTest(unittest.TestCase):
    def test_handle_event_is_called_from_any_method(self):
        seen = []

        class Watcher(Camera):
            def _handle_event(self, channel_id, event):
                seen.append((channel_id, event))
                super()._handle_event(channel_id, event)

        with Watcher(rig.socket, timeout=CALL_TIMEOUT) as cam:
            cam.exec(CHANNEL_SCRIPT)
            read_until(cam, "channels ready")  # events arrive during read_stdout
            wait_until(lambda: (0, omvd.EventType.CHANNEL_REGISTERED) in seen,
                       what="CHANNEL_REGISTERED")
            self.assertIn((1, 1), seen)  # stdin: script started
            self.assertIn("ticks", cam.channels_by_name)  # the list reloads after the event

    def test_poll_events(self):
        seen = []

        class Watcher(Camera):
            def _handle_event(self, channel_id, event):
                seen.append((channel_id, event))

        with Watcher(rig.socket, timeout=CALL_TIMEOUT) as cam, \
                Camera(rig.socket, timeout=CALL_TIMEOUT) as other:
            other.exec('print("x")')
            wait_until(lambda: cam.poll_events() or (0, omvd.EventType.SOFT_REBOOT) in seen,
                       what="SOFT_REBOOT from poll_events()")
            self.assertIsNone(cam.poll_events())


if __name__ == "__main__":
    unittest.main()
