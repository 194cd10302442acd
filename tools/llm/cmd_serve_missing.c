/* `llm serve` in a build without libmicrohttpd: says how to get the server. */
#include <stdio.h>

#include "cli.h"

const llm_cli_opt llm_serve_opts[] = {LLM_CLI_OPT_MODEL, LLM_CLI_OPT_END};

int llm_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "llm serve: this build has no HTTP server: install libmicrohttpd "
                    "(Debian: libmicrohttpd-dev) and run 'meson setup --reconfigure build'\n");
    return 1;
}
