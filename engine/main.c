/* taskwheel: argv and subcommand dispatch; nothing else. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "taskwheel: not yet\n");
    return 2;
}
