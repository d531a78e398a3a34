/* One error enum for the whole project, generated from one table (libuv's
 * UV_ERRNO_MAP pattern). 0 is success, every error is negative. */
#ifndef PB_ERROR_H
#define PB_ERROR_H

#define PB_ERRNO_MAP(X)                                                        \
  X(NOMEM, -1, "out of memory")                                                \
  X(INVAL, -2, "invalid argument")                                             \
  X(PARSE, -3, "malformed input")                                              \
  X(NOTFOUND, -4, "not found")                                                 \
  X(EXISTS, -5, "already exists")                                              \
  X(IO, -6, "input/output error")                                              \
  X(DB, -7, "database error")                                                  \
  X(BUS, -8, "message bus error")                                              \
  X(HTTP, -9, "HTTP transfer failed")                                          \
  X(TIMEOUT, -10, "timed out")                                                 \
  X(TOOBIG, -11, "too large")                                                  \
  X(CONFIG, -12, "invalid configuration")                                      \
  X(CRYPTO, -13, "cryptographic operation failed")                             \
  X(VERSION, -14, "unsupported version")                                       \
  X(UNAVAIL, -15, "service unavailable")                                       \
  X(AUTH, -16, "authentication failed")                                        \
  X(PBX, -17, "PBX reported an error")                                         \
  X(RANGE, -18, "value out of range")                                          \
  X(STATE, -19, "operation not allowed in this state")

enum pb_err {
  PB_OK = 0,
#define PB_ERR_ENUM(name, value, text) PB_E##name = (value),
  PB_ERRNO_MAP(PB_ERR_ENUM)
#undef PB_ERR_ENUM
};

/* On a function whose result must be looked at (a store write, an
 * allocation that can be refused): the compiler warns when a caller drops
 * it, and PB_WERROR builds fail. */
#define PB_MUST_CHECK __attribute__((warn_unused_result))

/* Human text for an error code; never NULL. */
const char *pb_strerror(int err);
/* Short stable name ("NOTFOUND") for logs and JSON error payloads. */
const char *pb_err_name(int err);

#endif
