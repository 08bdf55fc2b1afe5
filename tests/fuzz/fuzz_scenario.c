/*
 * libFuzzer harness for the scenario loader: any bytes must either load
 * (and then print a plan) or be refused with a message, never crash, leak
 * or hang. The collecting validator (scenario_check_buffer), which walks on
 * past errors over half-read models, must agree: valid exactly when the
 * load succeeds, and its errors include the load's first one.
 * Seed corpus: scenarios/library and tests/data/bad.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	static struct scenario_errors errs;
	struct scenario *s = NULL;
	struct fd_error err;
	int loaded, checked;
	bool seen = false;

	if (!sink)
		sink = fopen("/dev/null", "w");
	loaded = scenario_load_buffer("fuzz/x.yaml", (const char *)data, size, &s, &err) == 0;
	checked = scenario_check_buffer("fuzz/x.yaml", (const char *)data, size,
					SCENARIO_FOR_RUN, &errs) == 0;
	if (loaded != checked || (checked && errs.n) || (!checked && !errs.n))
		__builtin_trap();
	for (size_t i = 0; !loaded && i < errs.n; i++)
		seen = seen || strcmp(errs.e[i].err.msg, err.msg) == 0;
	if (!loaded && !seen)
		__builtin_trap(); /* the first error found is among all of them */
	if (loaded) {
		if (sink)
			scenario_print_plan(s, sink);
		scenario_free(s);
	} else if (err.msg[0] == '\0') {
		__builtin_trap(); /* every refusal says why */
	}
	return 0;
}
