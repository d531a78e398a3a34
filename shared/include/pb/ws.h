/* A WebSocket client (RFC 6455) over libwebsockets, driven by the service's
 * own loop (pb/loop.h): no thread of its own. Only ws.c includes
 * <libwebsockets.h>. One connection per handle; text and binary messages
 * are delivered whole, up to a size cap. Used for the PBX's event feed
 * (the P-Series developer guide, "Monitor Events via WebSocket"). */
#ifndef PB_WS_H
#define PB_WS_H

#include <stdbool.h>
#include <stddef.h>

#include "pb/error.h"

struct pb_loop;
struct pb_ws;

#define PB_WS_MESSAGE_MAX_DEFAULT (1024 * 1024)

struct pb_ws_options {
  const char *url;        /* ws://host[:port]/path?query or wss://... */
  const char *ca_file;    /* NULL or "": the system's CA store */
  bool insecure;          /* wss: accept any certificate and host name */
  const char *user_agent; /* NULL: none */
  size_t max_message;     /* 0: PB_WS_MESSAGE_MAX_DEFAULT */
  int connect_timeout_s;  /* 0: 10 s (TCP, TLS and the handshake) */
};

struct pb_ws_handler {
  /* The handshake succeeded: messages may be sent. */
  void (*on_open)(struct pb_ws *ws, void *ud);
  /* One whole message, lent for the call (NUL-terminated for text). */
  void (*on_message)(struct pb_ws *ws, const char *data, size_t len,
                     bool binary, void *ud);
  /* The connection failed or ended; called once, and nothing after it.
   * `err` is 0 for a clean close by the peer, else a PB_E* code; `why`
   * says what happened in a sentence (never the URL's query). The handle
   * stays to be freed with pb_ws_free (which may be called from here). */
  void (*on_close)(struct pb_ws *ws, int err, const char *why, void *ud);
  void *ud;
};

/* Starts connecting; the outcome comes through the handler, later, on the
 * loop. 0, or PB_EINVAL (bad URL or scheme: the sentence in `err`),
 * PB_ENOMEM, PB_EIO (the library refused to start). */
PB_MUST_CHECK int pb_ws_open(struct pb_loop *loop,
                             const struct pb_ws_options *opt,
                             const struct pb_ws_handler *h, struct pb_ws **out,
                             char *err, size_t errlen);
/* Queues a text message (sent as soon as the socket takes it). 0,
 * PB_ESTATE (not open, or closing), PB_ETOOBIG (over max_message, or the
 * queue is full), PB_ENOMEM. */
PB_MUST_CHECK int pb_ws_send_text(struct pb_ws *ws, const char *text,
                                  size_t len);
bool pb_ws_is_open(const struct pb_ws *ws);
/* Closes the connection if it is still there (no callback follows) and
 * frees the handle. May be called from the handler's callbacks. Accepts
 * NULL. */
void pb_ws_free(struct pb_ws *ws);

#endif
