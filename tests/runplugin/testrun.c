/*
 * Fixture index plugin "testrun" for the end-to-end fault and scheduler tests
 * (tests/faults/, see README.md in this directory). Built only with the tests, into
 * <build>/tests/runplugins; a test server loads it by pointing plugins_dir there. It uses only
 * the public ABI, and picks its behaviour from the chain it is asked to read:
 *
 *   9001  yields 3 records
 *   9002  sleeps 1 s before each of 5 records (a slow run whose progress is visible)
 *   9003  raise(SIGSEGV) in next
 *   9004  hangs in open, ignoring SIGTERM (so the runner must escalate to SIGKILL)
 *   9005  _exit(3) in next (a worker that dies without a result)
 *   9006  open fails with "told to fail by chain 9006"
 *   9007  200,000 records of about 1 KB: a result of about 200 MB (object storage tests)
 *   9008  40,000 records of about 1 KB, pausing 100 ms after every 1,000: a 40 MB result
 *         that takes at least 4 s to write, so a test can stop the store mid-upload
 *   9009  40000 records, sleeping 1.5 ms after every 10th (at least 1.5 s per 10000 records,
 *         the engine's progress step, so a run shows several progress updates)
 *   9121  sleeps 1 s before each of 10 records (a long run for the cluster rescue tests)
 *   other 3 records
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <taskwheel/plugin.h>

static const struct tw_field testrun_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = TW_FIELD_FILTERABLE },
    { .name = "name", .type = TW_FIELD_KEYWORD, .flags = TW_FIELD_FILTERABLE },
    { 0 },
};

struct cursor {
    const struct tw_host *host;
    int64_t chain;
    long rows, i;
    int slow;
    int trickle; /* chain 9007 */
};

static int tr_open(const struct tw_host *host, struct tw_query *q, void **out, struct tw_err *err)
{
    int64_t chain = host->q_chain(q);
    struct cursor *c;

    if (chain == 9004) {
        signal(SIGTERM, SIG_IGN);
        for (;;)
            pause();
    }
    if (chain == 9006)
        return host->err_set(err, TW_PLUGIN_ESOURCE, "told to fail by chain %lld",
                             (long long)chain);
    c = host->alloc(sizeof(*c));
    if (c == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory");
    memset(c, 0, sizeof(*c));
    c->host = host;
    c->chain = chain;
    c->rows = chain == 9002                    ? 5
              : chain == 9121                  ? 10
              : chain == 9007                  ? 200000
              : chain == 9008 || chain == 9009 ? 40000
                                               : 3;
    c->slow = chain == 9002 || chain == 9121;
    c->trickle = chain == 9009;
    *out = c;
    return TW_PLUGIN_OK;
}

static int tr_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    struct cursor *c = cursor;
    const struct tw_host *h = c->host;
    char name[32];

    (void)err;
    if (c->chain == 9003)
        raise(SIGSEGV); /* a real crash, without undefined behaviour for the sanitizers */
    if (c->chain == 9005)
        _exit(3);
    if (c->i >= c->rows)
        return 0;
    if (c->slow) {
        struct timespec ts = { 1, 0 };

        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (c->trickle && c->i % 10 == 9) {
        struct timespec ts = { 0, 1500 * 1000 };

        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (c->chain == 9008 && c->i > 0 && c->i % 1000 == 0) {
        struct timespec ts = { 0, 100 * 1000000L };

        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    c->i++;
    h->rec_set_chain(r, c->chain);
    h->rec_set_int(r, 0, c->i);
    if (c->chain == 9007 || c->chain == 9008) {
        char big[1001];
        int n = snprintf(big, sizeof(big), "row-%ld-", c->i);

        for (; n < 1000; n++)
            big[n] = (char)('a' + (c->i * 7 + n) % 26);
        big[n] = '\0';
        h->rec_set_text(r, 1, big, (size_t)n);
        return 1;
    }
    snprintf(name, sizeof(name), "row-%ld", c->i);
    h->rec_set_text(r, 1, name, strlen(name));
    return 1;
}

static void tr_close(void *cursor)
{
    struct cursor *c = cursor;

    c->host->free(c);
}

TW_INDEX_PLUGIN(.index = "testrun", .label = "TestRun", .version = "0.1.0",
                .fields = testrun_fields, .open = tr_open, .next = tr_next, .close = tr_close);
