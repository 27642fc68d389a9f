/*
 * Shared by the two sides of the report pipe (runner.c in the parent, worker.c in the child).
 *
 * Framing: every message is one struct tw_run_frame, fixed size and well under PIPE_BUF, so
 * each write(2) of a frame is atomic and the parent only has to reassemble partial reads.
 * The child is a fork of the parent (no exec), so the binary layout is the same on both ends;
 * magic guards against stray bytes. Text fields are NUL-terminated within their arrays.
 */
#ifndef TW_RUN_RUN_INT_H
#define TW_RUN_RUN_INT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "run/runner.h"

#define TW_RUN_FRAME_MAGIC 0x74777266u  /* "twrf" */

/* When adding a kind, also update frame handling in runner.c (on_frame). */
enum tw_run_frame_kind {
    TW_FRAME_PROGRESS = 1,      /* counts so far */
    TW_FRAME_SUCCESS = 2,       /* final: text = result file name, size, sha256 */
    TW_FRAME_ERROR = 3,         /* final: text = the error sentence */
};

struct tw_run_frame {
    uint32_t magic;             /* TW_RUN_FRAME_MAGIC */
    uint32_t kind;              /* enum tw_run_frame_kind */
    struct tw_run_counts counts; /* records so far / in total */
    int64_t size;               /* SUCCESS: result file size, bytes */
    char sha256[72];            /* SUCCESS: lowercase hex, 64 chars + NUL */
    char text[704];             /* SUCCESS: file name; ERROR: sentence */
};

_Static_assert(sizeof(struct tw_run_frame) <= PIPE_BUF, "a frame must be written atomically");

/* The child side of a run: what the work function's `rep` points to. */
struct tw_run_report {
    int fd;                     /* write end of the report pipe (blocking) */
    uint64_t last_progress_ms;  /* monotonic time of the last progress frame, 0 = none yet */
    int finals;                 /* final frames sent: 0 or 1 */
};

/*
 * In the forked child: prepare the process (fds, signals, process group, result dir), call
 * work, and _exit. Never returns. fd is the pipe's write end; parent is the server's pid (the
 * worker exits at once if the server is already gone); job and the work function come from
 * the runner (copies in the child's memory).
 */
void tw_worker_main(int fd, pid_t parent, const struct tw_run_job *job, tw_work_fn *work,
                    void *work_ctx) __attribute__((noreturn));

#endif /* TW_RUN_RUN_INT_H */
