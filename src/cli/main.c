/*
 * portstack: the command-line program.  `portstack` alone runs the demo.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: portstack [COMMAND] [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  demo   a simulated network of two hosts and a router, narrated (the default)\n"
            "  run    a real host on a TAP device: portstack run --tap DEV --address A/P ...\n"
            "  help   this text; `portstack COMMAND --help` for a command's options\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_demo(1, (char *[]){"demo", NULL});
    const char *cmd = argv[1];
    if (strcmp(cmd, "demo") == 0)
        return cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "portstack: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
