/* The event loop every service runs on (in the spirit of redis's ae.c):
 * poll() over watched file descriptors, a min-heap of wall-clock timers,
 * SIGTERM/SIGINT through a signalfd, and a timerfd with
 * TFD_TIMER_CANCEL_ON_SET that notices wall-clock jumps (NTP steps, resume
 * from suspend) so the sleep to the next timer is recomputed. */
#ifndef PB_LOOP_H
#define PB_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_loop;
struct pb_timer;

enum { PB_LOOP_READ = 1, PB_LOOP_WRITE = 2 };

typedef void pb_fd_cb(struct pb_loop *loop, int fd, unsigned events, void *ud);
typedef void pb_timer_cb(struct pb_loop *loop, struct pb_timer *t, void *ud);
typedef void pb_loop_cb(struct pb_loop *loop, void *ud);

/* Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread: create the loop
 * before any other thread so they inherit the mask. */
int pb_loop_new(struct pb_loop **out);
void pb_loop_free(struct pb_loop *loop);

/* Watch fd for events (a mask of PB_LOOP_READ/WRITE); watching an fd again
 * replaces its mask and callback. */
int pb_loop_watch(struct pb_loop *loop, int fd, unsigned events, pb_fd_cb *cb,
                  void *ud);
void pb_loop_unwatch(struct pb_loop *loop, int fd);

/* Timers fire at a wall-clock instant read from pb_clock (so fake time works
 * for them too). A timer is armed at most once; re-arming moves it. */
struct pb_timer *pb_timer_new(struct pb_loop *loop, pb_timer_cb *cb, void *ud);
void pb_timer_arm(struct pb_timer *t, int64_t when_ms);
void pb_timer_arm_in(struct pb_timer *t, int64_t delay_ms);
void pb_timer_disarm(struct pb_timer *t);
bool pb_timer_armed(const struct pb_timer *t);
int64_t pb_timer_when(const struct pb_timer *t);
void pb_timer_free(struct pb_timer *t);
size_t pb_loop_timer_count(const struct pb_loop *loop);

/* Called after the wall clock was stepped (timers are re-evaluated anyway). */
void pb_loop_on_clock_jump(struct pb_loop *loop, pb_loop_cb *cb, void *ud);

/* Runs until pb_loop_stop or SIGTERM/SIGINT. Returns 0, or the signal. */
int pb_loop_run(struct pb_loop *loop);
void pb_loop_stop(struct pb_loop *loop);
/* Runs ready work once, waiting at most timeout_ms (tests, shutdown). */
int pb_loop_run_once(struct pb_loop *loop, int timeout_ms);

#endif
