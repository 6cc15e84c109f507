/* The harnesses' serial port: a socketpair to the fake cam (fuzz_port.c). */
#ifndef FUZZ_PORT_H
#define FUZZ_PORT_H

struct fakecam;

/* The cam every later serial_port_open() connects to (NULL: none). */
void fuzz_port_plug(struct fakecam *fc);

#endif
