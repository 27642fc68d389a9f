/* Process helpers shared by the parts that fork (see proc.h). */
#include "core/proc.h"

#include <signal.h>
#include <string.h>

void tw_proc_reset_signals(void)
{
    struct sigaction sa;
    sigset_t none;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)sigaction(sig, &sa, NULL); /* EINVAL for the RT signals glibc reserves */
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}
