/*
 * The s3:// half of coffer offsite-setup (cli/cmd_offsite_setup.c).
 */
#ifndef COFFER_CLI_OFFSITE_S3_H
#define COFFER_CLI_OFFSITE_S3_H

#include <stdio.h>

#include "err.h"

/*
 * Print to f the recipe a bucket's owner applies so that the backup
 * writer's keys can add repository files to the bucket of url
 * (s3://[access@]endpoint[:port]/bucket[/prefix]) but never delete or
 * replace them for good: versioning, and a bucket policy that allows the
 * writer to put, get and list and denies every removal and every change
 * of the bucket's rules.  Checks url (ERR_USAGE); connects nowhere.
 */
int offsite_s3_recipe(const char *url, FILE *f, struct err *);

#endif
