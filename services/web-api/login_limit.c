/* The failed-login limiter (docs/api.md "Limits"). Three budgets over a
 * fixed 15-minute window: per client address and user name
 * (WEB_LOGIN_MAX_FAILURES), per client address whatever the names
 * (..._PER_ADDRESS: made-up names do not reset anything) and per user name
 * from all addresses (..._PER_ACCOUNT: many addresses guessing one
 * password). Every name is counted alike, so the answers never tell which
 * accounts exist. The table is bounded and never flushed: only entries whose
 * window is over are forgotten, and when it is full of live entries an
 * attempt that would need a new one is refused, so filling it unlocks
 * nobody. An attempt counts from the moment it is taken (concurrent
 * attempts cannot overshoot); one refused before its check ran (429, 503)
 * does not count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/map.h"
#include "web.h"

#define WINDOW_S 900
#define MAX_KEYS 50000

enum budget { BY_PAIR, BY_ADDRESS, BY_ACCOUNT, BUDGETS };

static const struct {
  enum pb_config_key max;
  const char *what;
} budgets[BUDGETS] = {
    [BY_PAIR] = {PB_CFG_WEB_LOGIN_MAX_FAILURES,
                 "for this user name from this address"},
    [BY_ADDRESS] = {PB_CFG_WEB_LOGIN_MAX_FAILURES_PER_ADDRESS,
                    "from this address"},
    [BY_ACCOUNT] = {PB_CFG_WEB_LOGIN_MAX_FAILURES_PER_ACCOUNT,
                    "for this user name"},
};

static void make_keys(const char *ip, const char *user,
                      char keys[BUDGETS][160]) {
  char addr[80];
  web_addr_key_text(ip, addr, sizeof addr);
  snprintf(keys[BY_PAIR], 160, "p|%s|%.64s", addr, user);
  snprintf(keys[BY_ADDRESS], 160, "a|%s", addr);
  snprintf(keys[BY_ACCOUNT], 160, "u|%.64s", user);
}

static bool live(const struct web_failures *f, int64_t now) {
  return f && now < f->window_start + WINDOW_S;
}

/* Forgets the entries whose window is over; notes when the next one ends. */
static void sweep(struct web_auth_state *a, int64_t now) {
  size_t n = pb_map_count(a->failures), count = 0, pos = 0;
  const char **dead = malloc((n ? n : 1) * sizeof *dead);
  if (!dead)
    return;
  int64_t next = now + WINDOW_S;
  const char *key;
  struct web_failures *f;
  while ((f = pb_map_next(a->failures, &pos, &key))) {
    if (!live(f, now))
      dead[count++] = key;
    else if (f->window_start + WINDOW_S < next)
      next = f->window_start + WINDOW_S;
  }
  /* Removing frees the keys: copy each first. */
  for (size_t i = 0; i < count; i++) {
    char k[160];
    pb_strlcpy(k, dead[i], sizeof k);
    dead[i] = NULL;
    free(pb_map_remove(a->failures, k));
  }
  free(dead);
  a->failures_sweep_at = next;
}

int64_t web_login_blocked(struct web *w, const char *ip, const char *user) {
  struct web_auth_state *a = w->auth;
  char keys[BUDGETS][160];
  make_keys(ip, user, keys);
  int64_t now = pb_clock_now(), wait = 0;
  size_t missing = 0;
  int which = -1;
  for (int b = 0; b < BUDGETS; b++) {
    const struct web_failures *f = pb_map_get(a->failures, keys[b]);
    if (!f) {
      missing++;
      continue;
    }
    if (live(f, now) && f->count >= pb_config_int(w->cfg, budgets[b].max) &&
        f->window_start + WINDOW_S - now > wait) {
      wait = f->window_start + WINDOW_S - now;
      which = b;
    }
  }
  if (wait > 0) {
    web_note(&a->failures_note,
             "login limiter: refusing logins for '%.64s' from %s: too many "
             "failures %s in 15 minutes (%s)",
             user, ip, budgets[which].what,
             pb_config_key_name(budgets[which].max));
    return wait;
  }
  if (missing && pb_map_count(a->failures) + missing > MAX_KEYS) {
    if (now >= a->failures_sweep_at)
      sweep(a, now);
    if (pb_map_count(a->failures) + missing > MAX_KEYS) {
      web_note(&a->failures_note,
               "login limiter: %d addresses and names failed within 15 "
               "minutes; refusing logins from addresses and names it does "
               "not know yet (like '%.64s' from %s) until windows end",
               MAX_KEYS, user, ip);
      wait = a->failures_sweep_at - now;
      return wait > 0 ? wait : 1;
    }
  }
  return 0;
}

static void take_back(struct web_auth_state *a, const char *key) {
  struct web_failures *f = pb_map_get(a->failures, key);
  if (f && f->count > 0)
    f->count--;
}

void web_login_result(struct web *w, const char *ip, const char *user,
                      bool ok) {
  struct web_auth_state *a = w->auth;
  char keys[BUDGETS][160];
  make_keys(ip, user, keys);
  if (ok) {
    /* The right password clears its own pair; the address's and the
     * account's budgets only get this attempt back, or one valid account
     * would reset its address's budget between two guesses at others. */
    free(pb_map_remove(a->failures, keys[BY_PAIR]));
    take_back(a, keys[BY_ADDRESS]);
    take_back(a, keys[BY_ACCOUNT]);
    return;
  }
  int64_t now = pb_clock_now();
  for (int b = 0; b < BUDGETS; b++) {
    struct web_failures *f = pb_map_get(a->failures, keys[b]);
    if (!f) {
      /* web_login_blocked made sure there is room. */
      f = calloc(1, sizeof *f);
      if (!f || pb_map_put(a->failures, keys[b], f)) {
        free(f);
        continue;
      }
    }
    if (!live(f, now)) {
      f->window_start = now;
      f->count = 0;
    }
    f->count++;
  }
}

void web_login_refused(struct web *w, const char *ip, const char *user) {
  char keys[BUDGETS][160];
  make_keys(ip, user, keys);
  for (int b = 0; b < BUDGETS; b++)
    take_back(w->auth, keys[b]);
}
