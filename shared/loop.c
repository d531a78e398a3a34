/* The event loop (pb/loop.h): poll() over watched descriptors, a binary
 * min-heap of wall-clock timers (each timer knows its heap slot, so arming,
 * moving and cancelling are O(log n)) whose earliest one is waited for on a
 * timerfd, signals through a signalfd, and a TFD_TIMER_CANCEL_ON_SET
 * timerfd that reports wall-clock steps. */
#include "pb/loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "pb/buf.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"

#define MAX_WATCHES 4096
#define MAX_JUMP_CBS 8

struct watch {
  int fd;
  unsigned events;
  pb_fd_cb *cb;
  void *ud;
};

struct pb_timer {
  struct pb_loop *loop;
  int64_t when;
  uint64_t seq; /* ties fire in arming order */
  size_t slot;  /* index in the heap, SIZE_MAX when disarmed */
  pb_timer_cb *cb;
  void *ud;
};

struct pb_loop {
  struct watch *watches;
  size_t nwatches, capwatches;
  struct pb_timer **heap;
  size_t nheap, capheap;
  uint64_t seq;
  int sigfd, jumpfd;
  int wakefd; /* CLOCK_MONOTONIC timerfd armed at the earliest timer */
  bool stop;
  int signal;
  struct {
    pb_loop_cb *cb;
    void *ud;
  } jump[MAX_JUMP_CBS];
  int njump;
};

static void arm_jump_detector(struct pb_loop *loop) {
  /* An absolute CLOCK_REALTIME timer far in the future: it never expires,
   * but any setting of the clock cancels it, and poll() wakes us. */
  struct itimerspec its = {.it_value = {.tv_sec = 0x7fffffff}};
  if (timerfd_settime(loop->jumpfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
                      &its, NULL) != 0)
    pb_warn("cannot watch for wall-clock changes: %s", strerror(errno));
}

int pb_loop_new(struct pb_loop **out) {
  struct pb_loop *loop = calloc(1, sizeof *loop);
  if (!loop)
    return PB_ENOMEM;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  sigdelset(&set, SIGPIPE);
  loop->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  loop->jumpfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  loop->wakefd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (loop->sigfd < 0 || loop->jumpfd < 0 || loop->wakefd < 0) {
    pb_loop_free(loop);
    return PB_EIO;
  }
  arm_jump_detector(loop);
  *out = loop;
  return 0;
}

void pb_loop_free(struct pb_loop *loop) {
  if (!loop)
    return;
  for (size_t i = 0; i < loop->nheap; i++)
    loop->heap[i]->slot = SIZE_MAX;
  free(loop->heap);
  free(loop->watches);
  if (loop->sigfd >= 0)
    close(loop->sigfd);
  if (loop->jumpfd >= 0)
    close(loop->jumpfd);
  if (loop->wakefd >= 0)
    close(loop->wakefd);
  free(loop);
}

int pb_loop_watch(struct pb_loop *loop, int fd, unsigned events, pb_fd_cb *cb,
                  void *ud) {
  for (size_t i = 0; i < loop->nwatches; i++) {
    if (loop->watches[i].fd == fd) {
      loop->watches[i] = (struct watch){fd, events, cb, ud};
      return 0;
    }
  }
  int rc = pb_array_grow(&loop->watches, &loop->capwatches, loop->nwatches + 1,
                         sizeof *loop->watches, MAX_WATCHES);
  if (rc)
    return rc;
  loop->watches[loop->nwatches++] = (struct watch){fd, events, cb, ud};
  return 0;
}

void pb_loop_unwatch(struct pb_loop *loop, int fd) {
  for (size_t i = 0; i < loop->nwatches; i++) {
    if (loop->watches[i].fd == fd) {
      loop->watches[i] = loop->watches[--loop->nwatches];
      return;
    }
  }
}

/* ---- timer heap ---- */

static bool earlier(const struct pb_timer *a, const struct pb_timer *b) {
  return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(struct pb_loop *loop, size_t i, struct pb_timer *t) {
  loop->heap[i] = t;
  t->slot = i;
}

static void sift_up(struct pb_loop *loop, size_t i) {
  struct pb_timer *t = loop->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(t, loop->heap[parent]))
      break;
    heap_set(loop, i, loop->heap[parent]);
    i = parent;
  }
  heap_set(loop, i, t);
}

static void sift_down(struct pb_loop *loop, size_t i) {
  struct pb_timer *t = loop->heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= loop->nheap)
      break;
    if (child + 1 < loop->nheap &&
        earlier(loop->heap[child + 1], loop->heap[child]))
      child++;
    if (!earlier(loop->heap[child], t))
      break;
    heap_set(loop, i, loop->heap[child]);
    i = child;
  }
  heap_set(loop, i, t);
}

static void heap_remove(struct pb_loop *loop, struct pb_timer *t) {
  size_t i = t->slot;
  t->slot = SIZE_MAX;
  struct pb_timer *last = loop->heap[--loop->nheap];
  if (i == loop->nheap)
    return;
  heap_set(loop, i, last);
  sift_down(loop, i);
  sift_up(loop, last->slot);
}

struct pb_timer *pb_timer_new(struct pb_loop *loop, pb_timer_cb *cb, void *ud) {
  struct pb_timer *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->loop = loop;
  t->cb = cb;
  t->ud = ud;
  t->slot = SIZE_MAX;
  return t;
}

void pb_timer_arm(struct pb_timer *t, int64_t when_ms) {
  struct pb_loop *loop = t->loop;
  t->seq = ++loop->seq;
  if (t->slot != SIZE_MAX) {
    t->when = when_ms;
    sift_down(loop, t->slot);
    sift_up(loop, t->slot);
    return;
  }
  if (pb_array_grow(&loop->heap, &loop->capheap, loop->nheap + 1,
                    sizeof *loop->heap, SIZE_MAX / sizeof *loop->heap)) {
    pb_error("out of memory arming a timer");
    return;
  }
  t->when = when_ms;
  loop->heap[loop->nheap] = t;
  t->slot = loop->nheap++;
  sift_up(loop, t->slot);
}

void pb_timer_arm_in(struct pb_timer *t, int64_t delay_ms) {
  pb_timer_arm(t, pb_clock_now_ms() + delay_ms);
}

void pb_timer_disarm(struct pb_timer *t) {
  if (t && t->slot != SIZE_MAX)
    heap_remove(t->loop, t);
}

bool pb_timer_armed(const struct pb_timer *t) {
  return t->slot != SIZE_MAX;
}
int64_t pb_timer_when(const struct pb_timer *t) {
  return t->when;
}

void pb_timer_free(struct pb_timer *t) {
  if (!t)
    return;
  pb_timer_disarm(t);
  free(t);
}

size_t pb_loop_timer_count(const struct pb_loop *loop) {
  return loop->nheap;
}

void pb_loop_on_clock_jump(struct pb_loop *loop, pb_loop_cb *cb, void *ud) {
  if (loop->njump < MAX_JUMP_CBS) {
    loop->jump[loop->njump].cb = cb;
    loop->jump[loop->njump].ud = ud;
    loop->njump++;
  }
}

/* ---- running ---- */

static void fire_due_timers(struct pb_loop *loop) {
  int64_t now = pb_clock_now_ms();
  /* Bounded: timers re-armed for "now" by their callback wait a turn. */
  size_t budget = loop->nheap;
  while (budget-- && loop->nheap && loop->heap[0]->when <= now) {
    struct pb_timer *t = loop->heap[0];
    heap_remove(loop, t);
    t->cb(loop, t, t->ud);
  }
}

static void handle_signal(struct pb_loop *loop) {
  struct signalfd_siginfo si;
  while (read(loop->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
    pb_info("received signal %u, stopping", si.ssi_signo);
    loop->signal = (int)si.ssi_signo;
    loop->stop = true;
  }
}

static void handle_jump(struct pb_loop *loop) {
  uint64_t expirations;
  if (read(loop->jumpfd, &expirations, sizeof expirations) < 0 &&
      errno == ECANCELED) {
    pb_info("wall clock was changed: re-arming timers");
    arm_jump_detector(loop);
    for (int i = 0; i < loop->njump; i++)
      loop->jump[i].cb(loop, loop->jump[i].ud);
  }
}

int pb_loop_run_once(struct pb_loop *loop, int timeout_ms) {
  fire_due_timers(loop);
  if (loop->stop)
    return 0;
  if (loop->nheap) {
    int64_t wait = loop->heap[0]->when - pb_clock_now_ms();
    if (wait <= 0) {
      timeout_ms = 0;
    } else if (timeout_ms < 0 || wait < timeout_ms) {
      /* Sleep on a timerfd rather than poll()'s timeout: the kernel lets
       * poll() oversleep by 0.1 % of its timeout (up to 100 ms), a timerfd
       * only by the thread's timer slack (50 us). */
      if (wait > 86400000)
        wait = 86400000;
      struct itimerspec its = {
          .it_value = {.tv_sec = (time_t)(wait / 1000),
                       .tv_nsec = (long)(wait % 1000) * 1000000L}};
      if (timerfd_settime(loop->wakefd, 0, &its, NULL) == 0)
        timeout_ms = -1;
      else
        timeout_ms = (int)wait;
    }
  }
  size_t n = loop->nwatches;
  struct pollfd fds[MAX_WATCHES + 3];
  fds[0] = (struct pollfd){.fd = loop->sigfd, .events = POLLIN};
  fds[1] = (struct pollfd){.fd = loop->jumpfd, .events = POLLIN};
  fds[2] = (struct pollfd){.fd = loop->wakefd, .events = POLLIN};
  for (size_t i = 0; i < n; i++) {
    short ev = 0;
    if (loop->watches[i].events & PB_LOOP_READ)
      ev |= POLLIN;
    if (loop->watches[i].events & PB_LOOP_WRITE)
      ev |= POLLOUT;
    fds[i + 3] = (struct pollfd){.fd = loop->watches[i].fd, .events = ev};
  }
  int rc = poll(fds, n + 3, timeout_ms);
  if (rc < 0) {
    if (errno == EINTR)
      return 0;
    pb_error("poll failed: %s", strerror(errno));
    return PB_EIO;
  }
  if (fds[0].revents)
    handle_signal(loop);
  if (fds[1].revents)
    handle_jump(loop);
  if (fds[2].revents) {
    uint64_t expirations;
    if (read(loop->wakefd, &expirations, sizeof expirations) < 0) {
      /* already drained: the timers are checked below anyway */
    }
  }
  for (size_t i = 0; i < n && !loop->stop; i++) {
    short re = fds[i + 3].revents;
    if (!re)
      continue;
    unsigned ev = 0;
    if (re & (POLLIN | POLLHUP | POLLERR))
      ev |= PB_LOOP_READ;
    if (re & (POLLOUT | POLLERR))
      ev |= PB_LOOP_WRITE;
    /* A callback may unwatch descriptors: find this one again by fd. */
    for (size_t j = 0; j < loop->nwatches; j++) {
      if (loop->watches[j].fd == fds[i + 3].fd) {
        struct watch w = loop->watches[j];
        w.cb(loop, w.fd, ev, w.ud);
        break;
      }
    }
  }
  fire_due_timers(loop);
  return 0;
}

int pb_loop_run(struct pb_loop *loop) {
  loop->stop = false;
  while (!loop->stop) {
    if (pb_loop_run_once(loop, -1) < 0)
      return PB_EIO;
  }
  return loop->signal;
}

void pb_loop_stop(struct pb_loop *loop) {
  loop->stop = true;
}
