/*
 * The configuration file (lib/config.c, coffer.conf(5)), loaded by the
 * real config_load from a file.  Invariants: a refused file is one
 * ERR_CONFIG line; a loaded one answers every getter for every key of
 * every section without failing an assertion, and its schedules parse.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "schedule.h"

static void
walk(const struct config *cfg)
{
	const struct config_section *sec = NULL;

	FUZZ_CHECK(config_global(cfg) != NULL);
	while ((sec = config_next(cfg, sec, CONFIG_ANY)) != NULL) {
		struct config_setting st;
		size_t it = 0;

		FUZZ_CHECK(config_section_type(sec) == CONFIG_GLOBAL ||
		    config_name_valid(config_section_name(sec)));
		while (config_setting_next(sec, &it, &st) == 1) {
			const char *const *items;
			uint64_t u;
			int64_t i;
			double d;
			int b;

			switch (st.vtype) {
			case CONFIG_V_BOOL:
				if (config_get_bool(sec, st.key, &b) == 0)
					FUZZ_CHECK(b == 0 || b == 1);
				break;
			case CONFIG_V_INT:
				(void)config_get_int(sec, st.key, &i);
				break;
			case CONFIG_V_SIZE:
				(void)config_get_size(sec, st.key, &u);
				break;
			case CONFIG_V_DURATION:
				(void)config_get_duration(sec, st.key, &u);
				break;
			case CONFIG_V_PERCENT:
				if (config_get_percent(sec, st.key, &d) == 0)
					FUZZ_CHECK(d >= 0.0 && d <= 100.0);
				break;
			case CONFIG_V_LIST:
			case CONFIG_V_PATHS:
			case CONFIG_V_REFS: {
				size_t n = config_get_list(sec, st.key, &items);

				for (size_t k = 0; k < n; k++)
					FUZZ_CHECK(items[k][0] != '\0');
				break;
			}
			case CONFIG_V_SCHEDULE: {
				const char *t = config_get_str(sec, st.key);
				struct schedule *s = NULL;
				struct err e;

				if (t != NULL) {
					FUZZ_CHECK(
					    schedule_parse(t, &s, &e) == 0);
					schedule_free(s);
				}
				break;
			}
			default:
				(void)config_get_str(sec, st.key);
				break;
			}
		}
	}
}

static void
note(void *arg, const char *msg)
{
	(void)arg;
	FUZZ_CHECK(msg[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *path;
	struct config *cfg = NULL;
	struct err e;

	if (path == NULL)
		path = fuzz_path(fuzz_dir(), "coffer.conf");
	fuzz_write_file(path, data, size);
	if (config_load(path, &cfg, &e) == -1) {
		FUZZ_CHECK(cfg == NULL && e.class == ERR_CONFIG);
		FUZZ_CHECK(strchr(e.msg, '\n') == NULL);
		return (0);
	}
	walk(cfg);
	(void)config_not_yet(cfg, note, NULL);
	config_free(cfg);
	return (0);
}
