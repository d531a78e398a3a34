/* Live simulator settings (changed by /sim/config and /sim/outage) and the
 * counters /sim/stats reports, behind one mutex. */
#include "sim.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sim_state {
  pthread_mutex_t mu;
  struct sim_settings settings;
  struct sim_stats stats;
};

struct sim_state *sim_state_new(const struct sim_settings *initial) {
  struct sim_state *st = calloc(1, sizeof *st);

  if (st == NULL)
    return NULL;
  pthread_mutex_init(&st->mu, NULL);
  st->settings = *initial;
  return st;
}

void sim_state_free(struct sim_state *st) {
  if (st == NULL)
    return;
  pthread_mutex_destroy(&st->mu);
  free(st);
}

void sim_state_get(struct sim_state *st, struct sim_settings *out) {
  pthread_mutex_lock(&st->mu);
  *out = st->settings;
  pthread_mutex_unlock(&st->mu);
}

void sim_state_update(struct sim_state *st, const struct sim_settings *in,
                      unsigned mask) {
  pthread_mutex_lock(&st->mu);
  if (mask & SIM_SET_LATENCY)
    st->settings.latency_ms = in->latency_ms;
  if (mask & SIM_SET_ERROR_RATE)
    st->settings.error_rate = in->error_rate;
  if (mask & SIM_SET_ERROR_STATUS)
    st->settings.error_status = in->error_status;
  if (mask & SIM_SET_TOKEN_LIFETIME)
    st->settings.token_lifetime = in->token_lifetime;
  if (mask & SIM_SET_REFRESH_LIFETIME)
    st->settings.refresh_lifetime = in->refresh_lifetime;
  if (mask & SIM_SET_OUTAGE)
    st->settings.outage = in->outage;
  if (mask & SIM_SET_MAX_PAGE_SIZE)
    st->settings.max_page_size = in->max_page_size;
  if (mask & SIM_SET_LATENCY_ONLY)
    memcpy(st->settings.latency_only, in->latency_only,
           sizeof in->latency_only);
  if (mask & SIM_SET_API_DISABLED)
    st->settings.api_disabled = in->api_disabled;
  if (mask & SIM_SET_ALLOWED_IPS) {
    st->settings.n_allowed_ips = in->n_allowed_ips;
    memcpy(st->settings.allowed_ips, in->allowed_ips, sizeof in->allowed_ips);
  }
  pthread_mutex_unlock(&st->mu);
}

void sim_state_count(struct sim_state *st, enum sim_counter c) {
  pthread_mutex_lock(&st->mu);
  switch (c) {
  case SIM_COUNT_LOGIN:
    st->stats.logins++;
    break;
  case SIM_COUNT_REFRESH:
    st->stats.refreshes++;
    break;
  case SIM_COUNT_FAILED_LOGIN:
    st->stats.failed_logins++;
    break;
  case SIM_COUNT_TOKEN_LIMIT:
    st->stats.token_limit_refusals++;
    break;
  case SIM_COUNT_SERVER_ERROR:
    st->stats.server_errors++;
    break;
  case SIM_COUNT_DROPPED:
    st->stats.dropped++;
    break;
  case SIM_COUNT_TOKEN_DELETE:
    st->stats.token_deletes++;
    break;
  case SIM_COUNT_IP_REFUSAL:
    st->stats.ip_refusals++;
    break;
  }
  pthread_mutex_unlock(&st->mu);
}

void sim_state_enter(struct sim_state *st) {
  pthread_mutex_lock(&st->mu);
  st->stats.requests++;
  st->stats.in_flight++;
  if (st->stats.in_flight > st->stats.max_in_flight)
    st->stats.max_in_flight = st->stats.in_flight;
  pthread_mutex_unlock(&st->mu);
}

void sim_state_leave(struct sim_state *st) {
  pthread_mutex_lock(&st->mu);
  if (st->stats.in_flight > 0)
    st->stats.in_flight--;
  pthread_mutex_unlock(&st->mu);
}

void sim_state_stats(struct sim_state *st, struct sim_stats *out) {
  pthread_mutex_lock(&st->mu);
  *out = st->stats;
  pthread_mutex_unlock(&st->mu);
}
