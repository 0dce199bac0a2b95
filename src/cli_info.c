/* placeholder until the loader lands */
#include "cli.h"
int cli_info(int argc, char **argv) { KopError e = {KOP_EXIT_INTERNAL, "info: not built yet"}; return cli_report(&e); }
