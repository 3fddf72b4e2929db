/* placeholder until lib/config lands */
#include "cli.h"
int
cmd_config(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx; (void)argc; (void)argv;
	return (EXIT_ERROR);
}
