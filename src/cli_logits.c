/* placeholder until the forward passes land */
#include "cli.h"
int cli_logits(int argc, char **argv) { KopError e = {KOP_EXIT_INTERNAL, "logits: not built yet"}; return cli_report(&e); }
