/*
 * libFuzzer harness for the scenario loader: any bytes must either load
 * (and then print a plan) or be refused with a message, never crash, leak
 * or hang. Seed corpus: scenarios/library and tests/data/bad.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct scenario *s = NULL;
	struct fd_error err;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (scenario_load_buffer("fuzz/x.yaml", (const char *)data, size, &s, &err) == 0) {
		if (sink)
			scenario_print_plan(s, sink);
		scenario_free(s);
	} else if (err.msg[0] == '\0') {
		__builtin_trap(); /* every refusal says why */
	}
	return 0;
}
