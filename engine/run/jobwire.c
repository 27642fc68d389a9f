/*
 * A job on the wire, from the server to a spare worker over the spare's job socket: a fixed
 * header (ids and the length of each string, -1 for NULL), then the strings back to back.
 * The spare blocks reading it; EOF before a whole job means "no job" (the pool shrank or the
 * server is stopping), and the spare exits without reporting.
 */
#include "run/run_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/mem.h"

#define JOB_MAGIC 0x74776a62u /* "twjb" */
#define JOB_NSTR 5
#define JOB_MAX (64u << 20) /* a job is a few KB; refuse absurd lengths */

struct job_head {
    uint32_t magic;
    int32_t len[JOB_NSTR]; /* byte length of each string, -1 for NULL */
    int32_t gzip;          /* 0 or 1 */
    int64_t task_id, chain, run_start;
    int64_t since, since_from;
};

/* The job's string fields in wire order. */
static const char **job_field(struct tw_run_job *j, int i)
{
    const char **f[JOB_NSTR] = { &j->export_index, &j->export_format, &j->segment_json,
                                 &j->result_dir, &j->tmp_path };

    return f[i];
}

int tw_job_send(int fd, const struct tw_run_job *job)
{
    struct tw_run_job j = *job;
    struct iovec iov[1 + JOB_NSTR];
    struct job_head h;
    struct msghdr m;
    size_t total = sizeof(h), done, len;
    ssize_t n;
    int i, k = 1;

    memset(&h, 0, sizeof(h));
    h.magic = JOB_MAGIC;
    h.task_id = j.task_id;
    h.chain = j.chain;
    h.run_start = j.run_start;
    h.since = j.since;
    h.since_from = j.since_from;
    h.gzip = j.gzip ? 1 : 0;
    iov[0].iov_base = &h;
    iov[0].iov_len = sizeof(h);
    for (i = 0; i < JOB_NSTR; i++) {
        const char *s = *job_field(&j, i);

        len = s != NULL ? strlen(s) : 0;
        if (len > JOB_MAX / JOB_NSTR)
            return errno = E2BIG, -1;
        h.len[i] = s != NULL ? (int32_t)len : -1;
        if (len > 0) {
            iov[k].iov_base = (void *)s;
            iov[k++].iov_len = len;
            total += len;
        }
    }
    /* One sendmsg moves all of a normal job; a large segment may need more (the spare reads). */
    for (done = 0; done < total; done += (size_t)n) {
        memset(&m, 0, sizeof(m));
        m.msg_iov = iov;
        m.msg_iovlen = (size_t)k;
        do {
            n = sendmsg(fd, &m, MSG_NOSIGNAL);
        } while (n == -1 && errno == EINTR);
        if (n <= 0)
            return n == 0 ? (errno = EPIPE, -1) : -1;
        for (len = (size_t)n; len > 0 && k > 0;) { /* drop what was sent from the front */
            if (len < iov[0].iov_len) {
                iov[0].iov_base = (char *)iov[0].iov_base + len;
                iov[0].iov_len -= len;
                break;
            }
            len -= iov[0].iov_len;
            memmove(iov, iov + 1, (size_t)(--k) * sizeof(iov[0]));
        }
    }
    return 0;
}

char *tw_job_recv(int fd, struct tw_run_job *job)
{
    size_t total = 0, at = 0;
    struct job_head h;
    char *buf;
    int i;

    if (tw_read_full(fd, &h, sizeof(h), 0) == -1 || h.magic != JOB_MAGIC)
        return NULL;
    for (i = 0; i < JOB_NSTR; i++) {
        if (h.len[i] < -1 || (size_t)h.len[i] + 1 > JOB_MAX - total)
            return NULL;
        total += (size_t)(h.len[i] > 0 ? h.len[i] : 0) + 1;
    }
    buf = tw_malloc(total);
    if (buf == NULL)
        return NULL;
    memset(job, 0, sizeof(*job));
    job->task_id = h.task_id;
    job->chain = h.chain;
    job->run_start = h.run_start;
    job->since = h.since != 0;
    job->since_from = h.since_from;
    job->gzip = h.gzip == 1;
    for (i = 0; i < JOB_NSTR; i++) {
        size_t len = h.len[i] > 0 ? (size_t)h.len[i] : 0;

        *job_field(job, i) = NULL;
        if (h.len[i] == -1)
            continue;
        if (tw_read_full(fd, buf + at, len, 0) == -1) {
            tw_free(buf);
            return NULL;
        }
        buf[at + len] = '\0';
        *job_field(job, i) = buf + at;
        at += len + 1;
    }
    return buf;
}
