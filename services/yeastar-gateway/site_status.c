/* How the gateway gets on with each PBX site, for operators: the retained
 * R/site/<site>/status (state, what failed, since when, token, counts) and
 * the R/events/pbx_error / pbx_recovered events when the state changes
 * (docs/gateway.md lists each state and how it recovers). */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/topics.h"

static bool failing(const char *state) {
  return strcmp(state, "ok") != 0 && strcmp(state, "starting") != 0;
}

static void fill(const struct gw_site *s, struct pb_site_status *out) {
  struct pb_site_status st = {.since = s->state_since,
                              .updated_at = pb_clock_now(),
                              .token_valid = s->token_state == TOKEN_VALID,
                              .token_expires = s->access_expires};
  pb_strlcpy(st.site, s->name, sizeof st.site);
  pb_strlcpy(st.state, s->state, sizeof st.state);
  pb_strlcpy(st.error, s->error, sizeof st.error);
  pb_strlcpy(st.url, s->set.url, sizeof st.url);
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL))) {
    if (e->listed)
      st.extensions++;
    if (gw_apply_needed(e))
      st.pending++;
    if (e->drift_since)
      st.drifting++;
  }
  *out = st;
}

/* All but updated_at: a status kept from an earlier run that still says
 * how the site is needs no new copy. */
bool gw_site_status_matches(const struct gw_site *s, const char *payload,
                            size_t len) {
  struct pb_site_status want, got;
  char err[200];
  json_t *j = pb_json_parse(payload, len, err, sizeof err);
  int rc = j ? pb_site_status_from_json(j, &got, err, sizeof err) : PB_EINVAL;
  json_decref(j);
  if (rc)
    return false;
  fill(s, &want);
  return !strcmp(want.site, got.site) && !strcmp(want.state, got.state) &&
         !strcmp(want.error, got.error) && !strcmp(want.url, got.url) &&
         want.since == got.since && want.token_valid == got.token_valid &&
         (!want.token_valid || want.token_expires == got.token_expires) &&
         want.extensions == got.extensions && want.pending == got.pending &&
         want.drifting == got.drifting;
}

void gw_site_publish_status(struct gw_site *s) {
  if (s->removed)
    return;
  struct pb_site_status st;
  fill(s, &st);
  json_t *j = pb_site_status_to_json(&st, s->gw->tz);
  char topic[128];
  if (pb_topic_site(topic, sizeof topic, s->name, PB_SITE_STATUS) == 0)
    gw_publish_json(s->gw, topic, j, true);
  json_decref(j);
}

/* pbx_error is told once per failing state (not again for each request
 * that meets the same failure); pbx_recovered once the site is "ok" again after
 * any failure, with the first failing state and how long it lasted in all (a
 * site may go through "starting" after its settings were fixed). */
void gw_site_set_state(struct gw_site *s, const char *state,
                       const char *error) {
  if (!strcmp(s->state, state) && !strcmp(s->error, error ? error : ""))
    return;
  int64_t now = pb_clock_now();
  bool changed = strcmp(s->state, state) != 0;
  if (changed)
    s->state_since = now;
  pb_strlcpy(s->state, state, sizeof s->state);
  pb_strlcpy(s->error, error ? error : "", sizeof s->error);
  if (failing(state) && !changed) {
    /* The same failure, described anew (another request met it): the
     * status says so, without another event. */
    pb_debug("site %s: still %s: %s", s->name, state, s->error);
  } else if (failing(state)) {
    if (!s->failed[0]) {
      pb_strlcpy(s->failed, state, sizeof s->failed);
      s->failed_since = now;
    }
    pb_warn("site %s: %s: %s", s->name, state, s->error);
    json_t *ev = json_pack("{s:s,s:s,s:s}", "site", s->name, "state", state,
                           "error", s->error);
    gw_event(s->gw, PB_EVENT_PBX_ERROR, ev);
  } else if (!strcmp(state, "ok") && s->failed[0]) {
    int64_t lasted = now - s->failed_since;
    pb_info("site %s: back to normal after %llds (%s)", s->name,
            (long long)lasted, s->failed);
    json_t *ev = json_pack("{s:s,s:s,s:I}", "site", s->name, "previous",
                           s->failed, "seconds", (json_int_t)lasted);
    gw_event(s->gw, PB_EVENT_PBX_RECOVERED, ev);
    s->failed[0] = '\0';
  }
  gw_site_publish_status(s);
}

void gw_site_clear_topics(struct gw_site *s) {
  static const char *const leaves[] = {PB_SITE_STATUS, PB_SITE_DIRECTORY};
  char topic[128];
  for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
    if (pb_topic_site(topic, sizeof topic, s->name, leaves[i]) == 0)
      gw_clear(s->gw, topic);
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    if (e->listed)
      gw_state_clear(s, e->number);
}
