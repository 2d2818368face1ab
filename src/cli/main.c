/*
 * portstack: the command-line program.  `portstack` alone runs the demo;
 * `portstack help [COMMAND]`, `portstack --help` and `portstack COMMAND
 * --help` print the help, which docs/portstack.1 (the man page) follows
 * option for option (tests/cli/test_cli_args.sh checks both ways).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef PS_VERSION
#define PS_VERSION "unknown"
#endif

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
    {"demo", cli_demo},
    {"run", cli_run},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: portstack [COMMAND] [OPTIONS]\n"
            "       portstack help [COMMAND]\n"
            "       portstack --version\n"
            "\n"
            "portstack is an embeddable TCP/IP stack; this program shows it at work.\n"
            "\n"
            "commands:\n"
            "  demo   a simulated network in one process, narrated step by step; needs no\n"
            "         root and writes every frame to a pcap file (the default command)\n"
            "  run    a real host on an existing TAP device: portstack run --tap DEV\n"
            "         (--address A.B.C.D/P | --dhcp) [--serve SERVICE:PORT,...] ...\n"
            "  help   this text, or with a COMMAND that command's options\n"
            "\n"
            "options:\n"
            "  -h, --help   this text (after a COMMAND: that command's options)\n"
            "  --version    the version of portstack\n"
            "\n"
            "`portstack COMMAND --help` lists every option of a command.  The manual is\n"
            "portstack(1): `man portstack` once installed, `man -l docs/portstack.1` in the\n"
            "source tree.  Exit status: 0 on success, 1 when the command failed, 2 for\n"
            "bad arguments.\n");
}

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown(const char *cmd)
{
    fprintf(stderr, "portstack: unknown command '%s' (commands: demo, run, help; portstack --help)\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_demo(1, (char *[]){"demo", NULL});
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc == 2) {
            usage(stdout);
            return 0;
        }
        if (argc > 3) {
            fprintf(stderr, "portstack: help takes one COMMAND, not '%s'\n", argv[3]);
            return 2;
        }
        const struct command *c = find(argv[2]);
        if (!c)
            return unknown(argv[2]);
        return c->fn(2, (char *[]){(char *)c->name, "--help", NULL});
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("portstack %s\n", PS_VERSION);
        return 0;
    }
    const struct command *c = find(cmd);
    if (!c)
        return unknown(cmd);
    return c->fn(argc - 1, argv + 1);
}
