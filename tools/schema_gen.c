/*
 * schema_gen: prints the scenario JSON Schema (scenario_schema()) to
 * stdout. Run by the build (docs/firedrill-scenario.schema.json is its
 * output, committed and installed; test `schema-committed` keeps the two
 * equal) and by `ninja -C build update-schema`.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "scenario.h"

int main(void)
{
	struct fd_error err;
	json_t *schema = scenario_schema(&err);
	char *text;

	if (!schema) {
		fprintf(stderr, "schema_gen: %s\n", err.msg);
		return 1;
	}
	text = json_dumps(schema, JSON_INDENT(2));
	json_decref(schema);
	if (!text || printf("%s\n", text) < 0 || fflush(stdout) != 0) {
		free(text);
		fprintf(stderr, "schema_gen: cannot write the schema\n");
		return 1;
	}
	free(text);
	return 0;
}
