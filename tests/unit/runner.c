/*
 * The one unit-test runner: every Suite *NAME_suite(void) under tests/unit
 * (collected into suites.h by the Makefile).  CK_RUN_SUITE / CK_RUN_CASE
 * select a subset as usual with Check.
 */
#include <stdlib.h>

#include <check.h>

#define SUITE(name) Suite *name(void);
#include "suites.h"
#undef SUITE

int
main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define SUITE(name) srunner_add_suite(sr, name());
#include "suites.h"
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
