/*
 * coffer offsite-setup s3://...: the append-only recipe for a bucket.
 * S3 has no "add but never replace" right, so it is built from two
 * pieces (doc/OFFSITE.md, "An append-only bucket"): versioning keeps
 * every object ever written, and the policy denies the writer every way
 * to remove a version or to change those rules.  The stronger variant,
 * where the store has Object Lock: the bucket made with it and a default
 * retention (object-lock.xml), then the same policy.  e2e 92 applies the
 * printed files verbatim to a real RGW, both ways, and checks each claim.
 */
#include "offsite_s3.h"

#include <string.h>

#include "url.h"

/* The default retention of the Object Lock recipe. */
#define OFFSITE_S3_LOCK_DAYS 30

int
offsite_s3_recipe(const char *url, FILE *f, struct err *e)
{
	struct url_s3 u;
	const char *b;

	if (url_parse_s3(url, &u, e) == -1) {
		e->class = ERR_USAGE; /* a command-line argument, not config */
		return (-1);
	}
	b = u.bucket;
	fprintf(f,
	    "# coffer offsite-setup for %s\n"
	    "# Run by the bucket's owner, never with the backup writer's "
	    "keys.  Why each\n"
	    "# part is there: doc/OFFSITE.md, \"An append-only bucket\".\n"
	    "#\n"
	    "# The writer is a user of its own; its keys go into the "
	    "primary's\n"
	    "# access_key_file and secret_key_file (mode 0600).  On Ceph "
	    "RGW:\n"
	    "#   radosgw-admin user create --uid=coffer-writer "
	    "--display-name=coffer-writer\n"
	    "# The policy names it as arn:aws:iam:::user/$U (a user in an "
	    "RGW tenant or\n"
	    "# an AWS account: arn:aws:iam::TENANT-OR-ACCOUNT:user/$U).\n"
	    "# --- files ---\n"
	    "U=coffer-writer\n"
	    "cat > versioning.xml <<'EOF'\n"
	    "<VersioningConfiguration><Status>Enabled</Status>"
	    "</VersioningConfiguration>\n"
	    "EOF\n"
	    "cat > object-lock.xml <<'EOF'\n"
	    "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
	    "</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE"
	    "</Mode><Days>%d</Days></DefaultRetention></Rule>"
	    "</ObjectLockConfiguration>\n"
	    "EOF\n"
	    "cat > policy.json <<EOF\n"
	    "{\"Version\": \"2012-10-17\", \"Statement\": [\n"
	    " {\"Sid\": \"CofferWriterAdds\", \"Effect\": \"Allow\",\n"
	    "  \"Principal\": {\"AWS\": [\"arn:aws:iam:::user/$U\"]},\n"
	    "  \"Action\": [\"s3:PutObject\", \"s3:GetObject\", "
	    "\"s3:ListBucket\",\n"
	    "             \"s3:AbortMultipartUpload\"],\n"
	    "  \"Resource\": [\"arn:aws:s3:::%s\", \"arn:aws:s3:::%s/*\"]},\n"
	    " {\"Sid\": \"CofferWriterNeverRemoves\", \"Effect\": \"Deny\",\n"
	    "  \"Principal\": {\"AWS\": [\"arn:aws:iam:::user/$U\"]},\n"
	    "  \"Action\": [\"s3:DeleteObject\", \"s3:DeleteObjectVersion\",\n"
	    "             \"s3:PutBucketVersioning\", \"s3:PutBucketPolicy\",\n"
	    "             \"s3:DeleteBucketPolicy\", "
	    "\"s3:PutLifecycleConfiguration\",\n"
	    "             \"s3:PutBucketObjectLockConfiguration\", "
	    "\"s3:DeleteBucket\"],\n"
	    "  \"Resource\": [\"arn:aws:s3:::%s\", \"arn:aws:s3:::%s/*\"]}\n"
	    "]}\n"
	    "EOF\n"
	    "# --- apply ---\n"
	    "# With the AWS CLI as the bucket's owner (E: the endpoint's "
	    "https:// URL):\n"
	    "#   aws --endpoint-url E s3api create-bucket --bucket %s\n"
	    "#   aws --endpoint-url E s3api put-bucket-versioning --bucket %s "
	    "\\\n"
	    "#       --versioning-configuration Status=Enabled\n"
	    "#   aws --endpoint-url E s3api put-bucket-policy --bucket %s "
	    "--policy file://policy.json\n"
	    "# (versioning.xml is that request's body as S3 has it, for "
	    "other clients).\n"
	    "# Stronger, where the store has Object Lock (Ceph RGW 16 does): "
	    "make the\n"
	    "# bucket with it, which turns versioning on, give it a default "
	    "retention,\n"
	    "# then the same policy:\n"
	    "#   aws --endpoint-url E s3api create-bucket --bucket %s "
	    "\\\n"
	    "#       --object-lock-enabled-for-bucket\n"
	    "#   aws --endpoint-url E s3api put-object-lock-configuration "
	    "--bucket %s \\\n"
	    "#       --object-lock-configuration '{\"ObjectLockEnabled\": "
	    "\"Enabled\",\n"
	    "#       \"Rule\": {\"DefaultRetention\": {\"Mode\": "
	    "\"COMPLIANCE\", \"Days\": %d}}}'\n"
	    "#   aws --endpoint-url E s3api put-bucket-policy --bucket %s "
	    "--policy file://policy.json\n"
	    "# (object-lock.xml is the body of that second request; S3 wants "
	    "it with a\n"
	    "# Content-MD5 header.)\n"
	    "# --- notes ---\n"
	    "# - coffer never replaces a file (If-None-Match: *); with "
	    "versioning, a\n"
	    "#   stolen key that PUTs over a name makes a new version, and the "
	    "old one\n"
	    "#   stays for the owner to bring back.\n"
	    "# - With Object Lock every version coffer writes is kept for %d "
	    "days\n"
	    "#   (COMPLIANCE: not even the owner's keys can remove it before); "
	    "choose\n"
	    "#   at least the time you need to notice a break-in.  A delete "
	    "only adds a\n"
	    "#   delete marker: space pruned is freed when the retention has "
	    "ended.\n"
	    "#   Tested on Ceph RGW 16.2.  coffer sends no Content-MD5 or "
	    "checksum\n"
	    "#   header; a store that wants one on writes to such a bucket "
	    "(AWS S3 has\n"
	    "#   been reported to) refuses them.\n"
	    "# - Reading this copy with the writer's keys (restore, check, "
	    "snapshots)\n"
	    "#   needs --no-lock (or locks = none): they cannot remove "
	    "locks/.  coffer\n"
	    "#   replicate takes no lock on its target.\n"
	    "# - An upload cut for good is aborted by coffer; a lifecycle "
	    "rule that\n"
	    "#   aborts incomplete multipart uploads after a day catches the "
	    "rest.\n"
	    "# - Pruning is privileged, never done with the writer's keys: "
	    "with the\n"
	    "#   owner's keys, coffer forget and prune -r %s;\n"
	    "#   old versions then go by a lifecycle rule "
	    "(NoncurrentVersionExpiration).\n",
	    url, OFFSITE_S3_LOCK_DAYS, b, b, b, b, b, b, b, b, b,
	    OFFSITE_S3_LOCK_DAYS, b, OFFSITE_S3_LOCK_DAYS, url);
	return (0);
}
