/*
 * Password hashing off the event loop (issue 11 item 4). A yescrypt check costs ~50 ms of CPU;
 * done on the loop, a flood of failed logins stalled every other request and the scheduler.
 * Jobs go to a small pool of threads (HASH_THREADS, started on the first login) that only run
 * crypt_r on copies of the password and the stored hash; the result comes back to the loop
 * through an eventfd, and the job's done callback runs there. The threads run at a lower
 * priority (nice +HASH_NICE) so that on a busy machine the loop still gets the CPU first.
 *
 * At most HASH_QUEUE jobs wait; beyond that tw_hashpool_submit refuses (the caller answers
 * 503 with Retry-After), so the queue cannot grow without bound.
 *
 * Ownership: a job is the caller's memory (embed struct tw_hash_job); the pool borrows it from
 * submit until its done callback, which it calls exactly once: with the result, or with
 * cancelled = true from tw_hashpool_destroy. The pool copies nothing but reads job->password
 * and job->hash from a thread meanwhile, so the caller must not touch the job until done.
 *
 * Nothing here touches libevent, the store or the API from a thread.
 */
#include "api/hashpool.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/crypto.h"
#include "core/mem.h"

#define HASH_THREADS 2
#define HASH_QUEUE 64
#define HASH_NICE 5

struct tw_hashpool;

struct thread_arg {
    struct tw_hashpool *p;
    struct crypt_data *cd; /* borrowed from the pool */
};

struct tw_hashpool {
    struct event_base *base; /* borrowed */
    pthread_t th[HASH_THREADS];
    struct crypt_data *cd[HASH_THREADS]; /* each thread's crypt_r state, owned */
    struct thread_arg arg[HASH_THREADS];
    int n_threads; /* started */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct tw_hash_job *todo; /* FIFO: head */
    struct tw_hash_job **todo_tail;
    size_t queued;            /* jobs submitted and not yet done */
    struct tw_hash_job *done; /* finished, for the loop (any order) */
    int efd;                  /* eventfd: threads -> loop */
    struct event *ev;         /* read event on efd */
    bool stop;
};

/* A yescrypt hash of a fixed word, made once: checking a password against it costs what
 * checking a real one does, so an unknown user name answers no faster than a known one. */
static char dummy_hash[CRYPT_OUTPUT_SIZE];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    static struct crypt_data cd;
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *salt = crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting));
    const char *out = salt != NULL ? crypt_r("taskwheel-dummy", salt, &cd) : NULL;

    snprintf(dummy_hash, sizeof(dummy_hash), "%s", out != NULL && out[0] != '*' ? out : "*");
}

/* The check itself (a thread). */
static bool password_ok(struct crypt_data *cd, const char *password, const char *hash)
{
    const char *h = hash;
    const char *out;

    if (h == NULL) {
        pthread_once(&dummy_once, make_dummy);
        h = dummy_hash;
    }
    memset(cd, 0, sizeof(*cd));
    out = crypt_r(password, h, cd);
    if (out == NULL || out[0] == '*' || strlen(out) != strlen(h))
        return false;
    return tw_ct_equal(out, h, strlen(h)) && hash != NULL;
}

static void *thread_main(void *arg)
{
    struct tw_hashpool *p = ((struct thread_arg *)arg)->p;
    struct crypt_data *cd = ((struct thread_arg *)arg)->cd;
    uint64_t one = 1;

    /* Linux: nice is per thread. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HASH_NICE);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct tw_hash_job *job;

        while (!p->stop && p->todo == NULL)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        job = p->todo;
        p->todo = job->next;
        if (p->todo == NULL)
            p->todo_tail = &p->todo;
        pthread_mutex_unlock(&p->mu);
        job->ok = password_ok(cd, job->password, job->hash);
        explicit_bzero(cd, sizeof(*cd));
        pthread_mutex_lock(&p->mu);
        job->next = p->done;
        p->done = job;
        /* Fails only when the counter is full, and then the loop is awake anyway. */
        if (write(p->efd, &one, sizeof(one)) == -1)
            continue;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The loop: hand finished jobs to their callbacks. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct tw_hashpool *p = arg;
    struct tw_hash_job *list;
    uint64_t n;

    (void)what;
    if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&p->mu);
    list = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->mu);
    while (list != NULL) {
        struct tw_hash_job *job = list;

        list = job->next;
        pthread_mutex_lock(&p->mu);
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        job->done(job, false);
    }
}

struct tw_hashpool *tw_hashpool_create(struct event_base *base, struct tw_err *err)
{
    struct tw_hashpool *p = tw_calloc(1, sizeof(*p));

    if (p == NULL) {
        tw_err_set(err, TW_ENOMEM, "out of memory");
        return NULL;
    }
    p->base = base;
    p->todo_tail = &p->todo;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd == -1) {
        tw_err_set(err, TW_EIO, "eventfd: %s", strerror(errno));
        tw_free(p);
        return NULL;
    }
    p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_done, p);
    if (p->ev == NULL || event_add(p->ev, NULL) != 0) {
        if (p->ev != NULL)
            event_free(p->ev);
        close(p->efd);
        tw_free(p);
        tw_err_set(err, TW_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

int tw_hashpool_submit(struct tw_hashpool *p, struct tw_hash_job *job, struct tw_err *err)
{
    int rc = TW_OK;

    pthread_mutex_lock(&p->mu);
    if (p->queued >= HASH_QUEUE) {
        rc = tw_err_set(err, TW_ELIMIT, "too many logins being checked at once");
        goto out;
    }
    while (p->n_threads < HASH_THREADS) {
        int i = p->n_threads;

        if (p->cd[i] == NULL)
            p->cd[i] = tw_calloc(1, sizeof(*p->cd[i]));
        p->arg[i].p = p;
        p->arg[i].cd = p->cd[i];
        if (p->cd[i] == NULL || pthread_create(&p->th[i], NULL, thread_main, &p->arg[i]) != 0)
            break;
        p->n_threads++;
    }
    if (p->n_threads == 0) {
        rc = tw_err_set(err, TW_EIO, "cannot start a password-hashing thread");
        goto out;
    }
    job->next = NULL;
    *p->todo_tail = job;
    p->todo_tail = &job->next;
    p->queued++;
    pthread_cond_signal(&p->cv);
out:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void tw_hashpool_destroy(struct tw_hashpool *p)
{
    struct tw_hash_job *job;
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->n_threads; i++)
        pthread_join(p->th[i], NULL);
    while (p->todo != NULL) {
        job = p->todo;
        p->todo = job->next;
        job->done(job, true);
    }
    while (p->done != NULL) {
        job = p->done;
        p->done = job->next;
        job->done(job, true);
    }
    for (i = 0; i < HASH_THREADS; i++)
        tw_free(p->cd[i]);
    event_free(p->ev);
    close(p->efd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    tw_free(p);
}
