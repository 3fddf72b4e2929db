/*
 * Fixtures the unit tests of the engines share: a machine-keyed
 * repository, and a configuration file loaded from a string.  Like tutil,
 * they abort the test on any failure of their own.
 */
#ifndef COFFER_TREPO_H
#define COFFER_TREPO_H

#include <stdint.h>

struct config;
struct repo;

/* The machine key (64 hex digits) every fixture repository is made with. */
extern const char trepo_machine_key[];

/*
 * A new repository at loc, keyed by trepo_machine_key, with host
 * "testhost" and user "tester" in its key file; pack_size 0 keeps the
 * default.  Left open in *out when out is not NULL (repo_close it).
 */
void trepo_init(const char *loc, uint32_t pack_size, struct repo **out);

/* The repository at loc, opened with trepo_machine_key. */
struct repo *trepo_open(const char *loc);

/* text written to dir/coffer.conf (0600) and loaded (config_free it). */
struct config *trepo_config(const char *dir, const char *text);

/*
 * Count the ranged reads r's store serves from now on (the store's
 * get_range, wrapped; from any thread): trepo_reads() says how many.
 */
void trepo_count_reads(struct repo *r);
unsigned trepo_reads(void);

#endif
