/*
 * Real S3 peers for the tests (tests/s3/): an s3rver process on a free loopback port with one
 * bucket, and the AWS SDK for JavaScript v3 as an independent client and signing oracle. Both
 * are npm packages installed by scripts/dev test into tests/s3/node_modules; a test that needs
 * them fails with a message saying how to install them when they are missing.
 */
#ifndef TW_TESTS_S3PEER_H
#define TW_TESTS_S3PEER_H

#include <sys/types.h>

struct tw_s3peer {
    char dir[256];     /* s3rver's storage directory */
    char endpoint[64]; /* http://127.0.0.1:PORT */
    unsigned port;
    pid_t pid; /* 0 when stopped */
    char bucket[64];
};

/* Start s3rver with bucket (made at start) in a new temporary directory. Asserts on failure. */
void tw_s3peer_start(struct tw_s3peer *p, const char *bucket);
/* Stop it (SIGKILL when hard, else SIGTERM) and keep the directory, so a restart sees the data. */
void tw_s3peer_stop(struct tw_s3peer *p, int hard);
/* Start again on the same directory and port (p->endpoint stays). */
void tw_s3peer_restart(struct tw_s3peer *p);
/* Multipart uploads in flight in the bucket: entries of s3rver's uploads directory. */
int tw_s3peer_uploads(const struct tw_s3peer *p);
/* Parts received (or being received) by the uploads in flight. */
int tw_s3peer_parts(const struct tw_s3peer *p);
/* Stop if running and remove the directory. */
void tw_s3peer_fini(struct tw_s3peer *p);

/*
 * Run `node tests/s3/SCRIPT ARGS...` with the given AWS credentials in its environment; its
 * first stdout line (without newline) goes to out. Returns the exit code.
 */
int tw_s3peer_node(const char *akid, const char *secret, char *out, size_t cap,
                   const char *const *args);

#endif
