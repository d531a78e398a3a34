/* The error table's text and names (see pb/error.h). */
#include "pb/error.h"

const char *pb_strerror(int err) {
  switch (err) {
  case PB_OK:
    return "success";
#define PB_ERR_TEXT(name, value, text)                                         \
  case PB_E##name:                                                             \
    return text;
    PB_ERRNO_MAP(PB_ERR_TEXT)
#undef PB_ERR_TEXT
  }
  return "unknown error";
}

const char *pb_err_name(int err) {
  switch (err) {
  case PB_OK:
    return "OK";
#define PB_ERR_NAME(name, value, text)                                         \
  case PB_E##name:                                                             \
    return #name;
    PB_ERRNO_MAP(PB_ERR_NAME)
#undef PB_ERR_NAME
  }
  return "UNKNOWN";
}
