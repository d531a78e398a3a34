/* A background thread for work too slow for a loop thread: an Argon2id
 * password check costs tens of milliseconds of CPU, during which a loop
 * would answer nobody. Jobs run one at a time, in the order given, on the
 * worker's thread; each job's `done` then runs on the loop's thread (an
 * eventfd wakes the loop), where it may touch the service's state again.
 * The queue is bounded, so a flood of slow work is refused, not piled up.
 *
 * Rule for `work`: it sees only what the job carries (copies made before
 * submitting); it must not touch the loop, the store or the bus. */
#ifndef PB_WORKER_H
#define PB_WORKER_H

#include <stddef.h>

struct pb_loop;
struct pb_worker;

typedef void pb_work_fn(void *job);
typedef void pb_work_done_fn(void *job);

/* A worker whose queue holds at most `max_queued` jobs not yet finished. */
int pb_worker_new(struct pb_loop *loop, size_t max_queued,
                  struct pb_worker **out);

/* Queues a job: work(job) on the worker thread, then done(job) on the loop
 * thread. PB_EUNAVAIL when the queue is full (nothing queued). */
int pb_worker_submit(struct pb_worker *w, pb_work_fn *work,
                     pb_work_done_fn *done, void *job);

/* Jobs submitted and not yet done (queued, running or finished but not yet
 * handed back to the loop). */
size_t pb_worker_pending(struct pb_worker *w);

/* Finishes the queued jobs, runs every `done` on the calling thread, stops
 * the thread. NULL is allowed. */
void pb_worker_free(struct pb_worker *w);

#endif
