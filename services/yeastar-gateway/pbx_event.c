/* One PBX event, whichever way it came (the WebSocket feed, pbx_feed.c, or
 * the webhook relay, handle_pbx_event.c), through one path so that an
 * event arriving both ways is handled once: 30009 presence to the drift
 * rules (drift.c: seeing the same status twice changes nothing), 30007,
 * 30008 and 30011 to the call state (call_state.c drops copies and late
 * events), 30012 New CDR to R/events/cdr once per call id. Event ids and
 * fields: the P-Series developer guide's event pages. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/topics.h"

static int presence(struct gw_site *s, const struct pb_pbx_event *ev,
                    const char *source, char *err, size_t errlen) {
  char number[PB_ID_MAX];
  enum pb_presence status;
  int rc =
      pb_pbx_event_presence(ev, number, sizeof number, &status, err, errlen);
  if (rc)
    return rc;
  struct gw_ext *e = gw_ext_get(s, number);
  if (!e || !e->listed) {
    pb_debug("site %s: PBX event for extension %s, not in the directory",
             s->name, number);
    return 0;
  }
  gw_drift_observe(s, e, status, 0, source);
  return 0;
}

static int new_cdr(struct gw_site *s, const struct pb_pbx_event *ev, char *err,
                   size_t errlen) {
  struct pb_cdr cdr;
  int rc = gw_cdr_from_pbx(s->gw, s->name, ev->msg, &cdr, err, errlen);
  if (rc)
    return rc;
  if (!gw_callstate_cdr(s->callstate, cdr.call_id, pb_clock_now_ms())) {
    pb_debug("site %s: CDR of call %s already published", s->name, cdr.call_id);
    return 0;
  }
  gw_event(s->gw, PB_EVENT_CDR, pb_cdr_to_json(&cdr, s->gw->tz));
  gw_call_publish_changes(s);
  return 0;
}

int gw_pbx_event_handle(struct gw_site *s, const struct pb_pbx_event *ev,
                        unsigned source, char *err, size_t errlen) {
  const char *from = source == GW_SOURCE_RELAY ? "pbx_event" : "pbx_feed";
  int rc;
  switch (ev->type) {
  case PB_PBX_EVENT_PRESENCE:
    return presence(s, ev, from, err, errlen);
  case GW_EVENT_NEW_CDR:
    return new_cdr(s, ev, err, errlen);
  case GW_EVENT_REGISTRATION:
  case GW_EVENT_EXT_CALL_STATUS:
  case GW_EVENT_CALL_STATUS:
    if (!s->callstate)
      return 0;
    rc = gw_callstate_event(s->callstate, ev, source, pb_clock_now_ms(), err,
                            errlen);
    if (rc == PB_ENOTFOUND) { /* an extension the directory does not list */
      pb_debug("site %s: %s event %lld: %s", s->name, from, (long long)ev->type,
               err);
      return 0;
    }
    if (rc < 0)
      return rc;
    gw_call_publish_changes(s);
    return 0;
  default:
    pb_debug("site %s: PBX event %lld ignored", s->name, (long long)ev->type);
    return 0;
  }
}
