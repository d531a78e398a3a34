/* The background worker (pb/worker.h): one thread, a FIFO of jobs to run
 * and a FIFO of jobs run, handed back to the loop through an eventfd. */
#include "pb/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"

struct job {
  struct job *next;
  pb_work_fn *work;
  pb_work_done_fn *done;
  void *ud;
};

struct fifo {
  struct job *head, *tail;
};

struct pb_worker {
  struct pb_loop *loop;
  int evfd;
  pthread_t thread;
  bool started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct fifo todo;    /* guarded by lock */
  struct fifo done;    /* guarded by lock */
  bool stopping;       /* guarded by lock */
  size_t pending, max; /* loop thread only */
};

static void push(struct fifo *f, struct job *j) {
  j->next = NULL;
  if (f->tail)
    f->tail->next = j;
  else
    f->head = j;
  f->tail = j;
}

static struct job *take_all(struct fifo *f) {
  struct job *j = f->head;
  f->head = f->tail = NULL;
  return j;
}

static void *run(void *arg) {
  struct pb_worker *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->todo.head && !w->stopping)
      pthread_cond_wait(&w->cond, &w->lock);
    struct job *j = w->todo.head;
    if (!j)
      break; /* stopping, and nothing left to do */
    w->todo.head = j->next;
    if (!w->todo.head)
      w->todo.tail = NULL;
    pthread_mutex_unlock(&w->lock);
    j->work(j->ud);
    pthread_mutex_lock(&w->lock);
    push(&w->done, j);
    uint64_t one = 1;
    /* Cannot block (the counter would need 2^64 wake-ups to fill); a
     * failure only delays the hand-back to the next wake-up. */
    if (write(w->evfd, &one, sizeof one) < 0 && errno != EAGAIN)
      pb_warn("worker: cannot wake the loop: %s", pb_strerror(PB_EIO));
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

/* Runs the `done` of every finished job, in order, on the calling thread. */
static void hand_back(struct pb_worker *w) {
  pthread_mutex_lock(&w->lock);
  struct job *j = take_all(&w->done);
  pthread_mutex_unlock(&w->lock);
  while (j) {
    struct job *next = j->next;
    w->pending--;
    j->done(j->ud);
    free(j);
    j = next;
  }
}

static void on_wake(struct pb_loop *loop, int fd, unsigned events, void *ud) {
  (void)loop;
  (void)events;
  uint64_t n;
  if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
    pb_warn("worker: cannot read its eventfd");
  hand_back(ud);
}

int pb_worker_new(struct pb_loop *loop, size_t max_queued,
                  struct pb_worker **out) {
  *out = NULL;
  struct pb_worker *w = calloc(1, sizeof *w);
  if (!w)
    return PB_ENOMEM;
  w->loop = loop;
  w->max = max_queued ? max_queued : 1;
  w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->evfd < 0) {
    free(w);
    return PB_EIO;
  }
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
  int rc = pb_loop_watch(loop, w->evfd, PB_LOOP_READ, on_wake, w);
  if (!rc && pthread_create(&w->thread, NULL, run, w) != 0)
    rc = PB_ENOMEM;
  if (rc) {
    pb_worker_free(w);
    return rc;
  }
  w->started = true;
  *out = w;
  return 0;
}

int pb_worker_submit(struct pb_worker *w, pb_work_fn *work,
                     pb_work_done_fn *done, void *ud) {
  if (w->pending >= w->max)
    return PB_EUNAVAIL;
  struct job *j = calloc(1, sizeof *j);
  if (!j)
    return PB_ENOMEM;
  j->work = work;
  j->done = done;
  j->ud = ud;
  w->pending++;
  pthread_mutex_lock(&w->lock);
  push(&w->todo, j);
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

size_t pb_worker_pending(struct pb_worker *w) {
  return w ? w->pending : 0;
}

void pb_worker_free(struct pb_worker *w) {
  if (!w)
    return;
  if (w->started) {
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    hand_back(w);
  }
  pb_loop_unwatch(w->loop, w->evfd);
  close(w->evfd);
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->cond);
  free(w);
}
