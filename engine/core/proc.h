/*
 * What a process forked from the server does first: the server's signal handlers (libevent's,
 * which write to the server's own signal socket) and its signal mask must not act in a child.
 */
#ifndef TW_CORE_PROC_H
#define TW_CORE_PROC_H

/* Every handler back to SIG_DFL and an empty signal mask. */
void tw_proc_reset_signals(void);

#endif
