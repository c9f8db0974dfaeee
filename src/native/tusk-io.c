// File-system calls Node does not expose, as a small Node-API addon (dist/native/tusk-io.node).
//
// fallocate(fd, offset, length[, keepSize]): reserve a file's blocks before writing it. On ext4 a write that
// lands on blocks reserved this way skips the per-page delayed-allocation accounting: writing
// 1 GiB into the page cache measured ~100 ms instead of ~165 ms here, and never showed the
// second-long stalls that writing into fresh, unreserved pages sometimes did. It also makes a
// full disk fail before the first byte is written rather than half-way through. With keepSize
// (FALLOC_FL_KEEP_SIZE) the blocks are reserved past the end without growing the file: how packs
// reserve ahead of their appends.
//
// Optional, like tusk-ns: without a C compiler or Node's headers the addon is not built and the
// store writes without reserving (src/store/native-io.ts).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

// Returns 0, or the errno of a failed call (EOPNOTSUPP where the file system cannot reserve).
static napi_value Fallocate(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "fallocate(fd, offset, length[, keepSize])");
    return NULL;
  }
  bool keep = false;
  if (argc > 3 && napi_get_value_bool(env, argv[3], &keep) != napi_ok) {
    napi_throw_type_error(env, NULL, "fallocate(fd, offset, length, keepSize): keepSize must be a boolean");
    return NULL;
  }
  int32_t fd;
  int64_t offset, length;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok || fd < 0 || offset < 0 || length <= 0) {
    napi_throw_type_error(env, NULL, "fallocate(fd, offset, length): a descriptor, an offset >= 0 and a length > 0");
    return NULL;
  }
  int rc;
  do rc = fallocate(fd, keep ? FALLOC_FL_KEEP_SIZE : 0, (off_t)offset, (off_t)length);
  while (rc != 0 && errno == EINTR);
  napi_value result;
  napi_create_int32(env, rc == 0 ? 0 : errno, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "fallocate", NAPI_AUTO_LENGTH, Fallocate, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "fallocate", fn) != napi_ok) return NULL;
  return exports;
}
