/* Access/refresh token store following the P-Series "Get/Refresh/Revoke
 * Access Token" pages: 32-char tokens, lifetimes in seconds, at most
 * max_tokens valid access tokens at once. */
#include "sim.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Expired entries are remembered for a while so that a late request gets
 * "TOKEN EXPIRED" rather than "INVALID TOKEN"; the table has a hard cap. */
#define TABLE_MAX 4096
#define FORGET_AFTER_MS (3600 * 1000)

struct token {
  char access[SIM_TOKEN_LEN + 1];
  char refresh[SIM_TOKEN_LEN + 1];
  int64_t access_exp_ms;
  int64_t refresh_exp_ms;
  bool dead; /* revoked, or replaced by refresh_token */
};

struct sim_tokens {
  pthread_mutex_t mu;
  unsigned max_tokens;
  size_t n;
  struct token v[TABLE_MAX];
};

struct sim_tokens *sim_tokens_new(unsigned max_tokens) {
  struct sim_tokens *t = calloc(1, sizeof *t);

  if (t == NULL)
    return NULL;
  pthread_mutex_init(&t->mu, NULL);
  t->max_tokens = max_tokens;
  return t;
}

void sim_tokens_free(struct sim_tokens *t) {
  if (t == NULL)
    return;
  pthread_mutex_destroy(&t->mu);
  free(t);
}

static int make_token(char out[SIM_TOKEN_LEN + 1]) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char buf[64];
  size_t got = 0;

  /* Rejection sampling keeps the 62 symbols equally likely. */
  while (got < SIM_TOKEN_LEN) {
    if (sim_random_bytes(buf, sizeof buf) != 0)
      return -1;
    for (size_t i = 0; i < sizeof buf && got < SIM_TOKEN_LEN; i++)
      if (buf[i] < 248)
        out[got++] = alphabet[buf[i] % 62];
  }
  out[SIM_TOKEN_LEN] = '\0';
  return 0;
}

static int64_t forget_at(const struct token *tk) {
  int64_t end = tk->access_exp_ms > tk->refresh_exp_ms ? tk->access_exp_ms
                                                       : tk->refresh_exp_ms;
  return end + FORGET_AFTER_MS;
}

static bool access_live(const struct token *tk, int64_t now) {
  return !tk->dead && now < tk->access_exp_ms;
}

static void remove_at(struct sim_tokens *t, size_t i) {
  t->v[i] = t->v[t->n - 1];
  t->n--;
}

static void prune(struct sim_tokens *t, int64_t now) {
  size_t i = 0;

  while (i < t->n) {
    if (t->v[i].dead || now > forget_at(&t->v[i]))
      remove_at(t, i);
    else
      i++;
  }
}

static size_t count_live(struct sim_tokens *t, int64_t now) {
  size_t live = 0;

  for (size_t i = 0; i < t->n; i++)
    if (access_live(&t->v[i], now))
      live++;
  return live;
}

/* Makes room for one entry by forgetting the one that ends first among those
 * whose access token is no longer valid (there are at most max_tokens valid
 * ones, far fewer than TABLE_MAX). */
static void make_room(struct sim_tokens *t, int64_t now) {
  size_t victim = t->n;

  if (t->n < TABLE_MAX)
    return;
  for (size_t i = 0; i < t->n; i++) {
    if (access_live(&t->v[i], now))
      continue;
    if (victim == t->n || forget_at(&t->v[i]) < forget_at(&t->v[victim]))
      victim = i;
  }
  if (victim < t->n)
    remove_at(t, victim);
}

static enum sim_token_status add_pair(struct sim_tokens *t, int64_t now,
                                      long access_life_s, long refresh_life_s,
                                      struct sim_token_pair *out) {
  struct token *tk;

  make_room(t, now);
  if (t->n >= TABLE_MAX)
    return SIM_TOKEN_LIMIT;
  tk = &t->v[t->n];
  memset(tk, 0, sizeof *tk);
  if (make_token(tk->access) != 0 || make_token(tk->refresh) != 0)
    return SIM_TOKEN_INVALID;
  tk->access_exp_ms = now + (int64_t)access_life_s * 1000;
  tk->refresh_exp_ms = now + (int64_t)refresh_life_s * 1000;
  t->n++;
  memcpy(out->access, tk->access, sizeof out->access);
  memcpy(out->refresh, tk->refresh, sizeof out->refresh);
  return SIM_TOKEN_OK;
}

enum sim_token_status sim_tokens_issue(struct sim_tokens *t, long access_life_s,
                                       long refresh_life_s,
                                       struct sim_token_pair *out) {
  enum sim_token_status rc;
  int64_t now = sim_clock_ms();

  pthread_mutex_lock(&t->mu);
  prune(t, now);
  if (count_live(t, now) >= t->max_tokens)
    rc = SIM_TOKEN_LIMIT;
  else
    rc = add_pair(t, now, access_life_s, refresh_life_s, out);
  pthread_mutex_unlock(&t->mu);
  return rc;
}

static struct token *find_access(struct sim_tokens *t, const char *access) {
  if (access == NULL)
    return NULL;
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].access, access) == 0)
      return &t->v[i];
  return NULL;
}

enum sim_token_status sim_tokens_refresh(struct sim_tokens *t,
                                         const char *refresh,
                                         long access_life_s,
                                         long refresh_life_s,
                                         struct sim_token_pair *out) {
  enum sim_token_status rc;
  struct token *old = NULL;
  int64_t now = sim_clock_ms();
  size_t live;

  pthread_mutex_lock(&t->mu);
  prune(t, now);
  for (size_t i = 0; refresh != NULL && i < t->n; i++)
    if (strcmp(t->v[i].refresh, refresh) == 0)
      old = &t->v[i];
  if (old == NULL) {
    rc = SIM_TOKEN_INVALID;
    goto out;
  }
  if (now >= old->refresh_exp_ms) {
    rc = SIM_TOKEN_EXPIRED;
    goto out;
  }
  /* The new access token replaces the old one, so the old one does not
   * count against the cap. */
  live = count_live(t, now) - (access_live(old, now) ? 1u : 0u);
  if (live >= t->max_tokens) {
    rc = SIM_TOKEN_LIMIT;
    goto out;
  }
  old->dead = true; /* both old tokens stop working */
  rc = add_pair(t, now, access_life_s, refresh_life_s, out);
out:
  pthread_mutex_unlock(&t->mu);
  return rc;
}

static enum sim_token_status status_of(const struct token *tk, int64_t now) {
  if (tk == NULL || tk->dead)
    return SIM_TOKEN_INVALID;
  if (now >= tk->access_exp_ms)
    return SIM_TOKEN_EXPIRED;
  return SIM_TOKEN_OK;
}

enum sim_token_status sim_tokens_check(struct sim_tokens *t,
                                       const char *access) {
  enum sim_token_status rc;

  pthread_mutex_lock(&t->mu);
  rc = status_of(find_access(t, access), sim_clock_ms());
  pthread_mutex_unlock(&t->mu);
  return rc;
}

enum sim_token_status sim_tokens_revoke(struct sim_tokens *t,
                                        const char *access) {
  enum sim_token_status rc;
  struct token *tk;

  pthread_mutex_lock(&t->mu);
  tk = find_access(t, access);
  rc = status_of(tk, sim_clock_ms());
  if (rc == SIM_TOKEN_OK)
    tk->dead = true;
  pthread_mutex_unlock(&t->mu);
  return rc;
}

void sim_tokens_expire_all(struct sim_tokens *t, bool access_only) {
  int64_t now = sim_clock_ms();

  pthread_mutex_lock(&t->mu);
  for (size_t i = 0; i < t->n; i++) {
    if (t->v[i].access_exp_ms > now)
      t->v[i].access_exp_ms = now;
    if (!access_only && t->v[i].refresh_exp_ms > now)
      t->v[i].refresh_exp_ms = now;
  }
  pthread_mutex_unlock(&t->mu);
}

size_t sim_tokens_live(struct sim_tokens *t) {
  size_t live;

  pthread_mutex_lock(&t->mu);
  live = count_live(t, sim_clock_ms());
  pthread_mutex_unlock(&t->mu);
  return live;
}
