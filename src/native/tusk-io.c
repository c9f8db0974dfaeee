// File-system calls Node does not expose, as a small Node-API addon (dist/native/tusk-io.node).
//
// fallocate(fd, offset, length[, keepSize]): reserve a file's blocks before writing it. On ext4 a write that
// lands on blocks reserved this way skips the per-page delayed-allocation accounting, which makes
// writing into the page cache much cheaper and avoids the second-long stalls that writing into
// fresh, unreserved pages sometimes showed (bench/README.md has the figures). It also makes a
// full disk fail before the first byte is written rather than half-way through. With keepSize
// (FALLOC_FL_KEEP_SIZE) the blocks are reserved past the end without growing the file: how packs
// reserve ahead of their appends.
//
// copyOpen / copyRun / copyBytes / copyEnd / copyAbort (built with TUSK_BLAKE3, where the BLAKE3
// sources the blake3 package ships could be compiled in): get -o of a big file, the copy loop in
// C. The main thread preads each run of chunk records from its pack and writes the chunks' bytes
// out in aligned pieces (src/store/aligned-writer.ts says why); a thread of this addon hashes the
// same bytes, in order, into the whole-file BLAKE3 digest behind it. What it saves over the
// JavaScript loop (writeContentParallel in parallel-content.ts) is Node's work around each read
// and the messages to the content worker; the writes cost the same from either
// (aligned-writer.ts).
//
// Optional, like tusk-ns: without a C compiler or Node's headers the addon is not built and the
// store writes without reserving (src/store/native-io.ts).
#define _GNU_SOURCE
// napi_type_tag_object / napi_check_object_type_tag (Node >= 14.8, 12.19)
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef TUSK_BLAKE3
#include <pthread.h>
#include "blake3.h"
#include "blake3_impl.h"
#endif

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

#ifdef TUSK_BLAKE3
// The unit of writing: every write but a file's first and last is this long and starts at a
// multiple of it. Equal to PIECE in src/store/aligned-writer.ts.
#define PIECE (128 << 10)
// Runs read ahead of the hashing thread at most; each slot holds one run (a few MiB). The
// hashing thread is the faster of the two, so a few slots are enough, and every slot is memory
// the process touches for the first time: more slots made get -o slower, not faster.
#define SLOTS 3
#define IOVS 64

typedef struct {
  uint32_t off, len;
} span_t;

typedef struct {
  uint8_t *data;
  size_t cap;
  span_t *spans;
  size_t nspans, spancap;
} slot_t;

typedef struct {
  int fd;
  off_t at; // where carry[0] goes
  uint8_t *carry;
  size_t carry_len;
  slot_t slots[SLOTS];
  uint64_t produced, consumed; // under mu
  int stop;                    // under mu
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int running;
  blake3_hasher hasher;
} copy_t;

static void *hash_loop(void *arg) {
  copy_t *c = arg;
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (c->consumed == c->produced && !c->stop) pthread_cond_wait(&c->cv, &c->mu);
    if (c->consumed == c->produced) break; // stopped, and nothing left
    slot_t *s = &c->slots[c->consumed % SLOTS];
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < s->nspans; i++) blake3_hasher_update(&c->hasher, s->data + s->spans[i].off, s->spans[i].len);
    pthread_mutex_lock(&c->mu);
    c->consumed++;
    pthread_cond_broadcast(&c->cv);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

// Waits until the hashing thread is done with the slot the next run goes into.
static slot_t *free_slot(copy_t *c) {
  pthread_mutex_lock(&c->mu);
  while (c->produced - c->consumed >= SLOTS) pthread_cond_wait(&c->cv, &c->mu);
  pthread_mutex_unlock(&c->mu);
  return &c->slots[c->produced % SLOTS];
}

static void hand_over(copy_t *c) {
  pthread_mutex_lock(&c->mu);
  c->produced++;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

static int grow(slot_t *s, size_t bytes, size_t spans) {
  if (bytes > s->cap) {
    uint8_t *d = realloc(s->data, bytes);
    if (!d) return ENOMEM;
    s->data = d;
    s->cap = bytes;
  }
  if (spans > s->spancap) {
    span_t *p = realloc(s->spans, spans * sizeof(span_t));
    if (!p) return ENOMEM;
    s->spans = p;
    s->spancap = spans;
  }
  return 0;
}

// pwritev of all of iov[0..n), through short writes and EINTR. Returns 0 or an errno.
static int write_all(int fd, struct iovec *iov, int n, off_t pos) {
  while (n > 0) {
    ssize_t w = pwritev(fd, iov, n, pos);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    pos += w;
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
}

// Writes the carry and then the slot's spans: every whole piece now, the rest (less than PIECE)
// into the carry, or out too when `last`. Returns 0 or an errno.
static int write_spans(copy_t *c, const slot_t *s, int last) {
  struct iovec iov[IOVS];
  int n = 0;
  size_t filled = 0;
  if (c->carry_len > 0) {
    iov[n++] = (struct iovec){c->carry, c->carry_len};
    filled = c->carry_len;
  }
  for (size_t i = 0; s && i < s->nspans; i++) {
    uint8_t *p = s->data + s->spans[i].off;
    size_t len = s->spans[i].len;
    while (len > 0) {
      size_t room = PIECE - (size_t)((c->at + (off_t)filled) % PIECE);
      size_t take = len < room ? len : room;
      iov[n++] = (struct iovec){p, take};
      filled += take;
      p += take;
      len -= take;
      if (take == room || n == IOVS) {
        int err = write_all(c->fd, iov, n, c->at);
        if (err) return err;
        c->at += (off_t)filled;
        filled = 0;
        n = 0;
      }
    }
  }
  if (last) {
    int err = n > 0 ? write_all(c->fd, iov, n, c->at) : 0;
    if (err) return err;
    c->at += (off_t)filled;
    c->carry_len = 0;
    return 0;
  }
  // the carry, if still here, is iov[0] at its own start
  size_t to = 0;
  for (int k = 0; k < n; k++) {
    if (iov[k].iov_base != c->carry + to) memmove(c->carry + to, iov[k].iov_base, iov[k].iov_len);
    to += iov[k].iov_len;
  }
  c->carry_len = to;
  return 0;
}

// Lets the hashing thread finish what it was handed, and waits for it.
static void stop_thread(copy_t *c) {
  if (!c->running) return;
  pthread_mutex_lock(&c->mu);
  c->stop = 1;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  pthread_join(c->thread, NULL);
  c->running = 0;
}

static void stop_and_free(copy_t *c) {
  stop_thread(c);
  for (int i = 0; i < SLOTS; i++) {
    free(c->slots[i].data);
    free(c->slots[i].spans);
    c->slots[i] = (slot_t){0};
  }
  free(c->carry);
  c->carry = NULL;
}

static void finalize_copy(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  copy_t *c = data;
  stop_and_free(c);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}

static napi_value int_result(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

// Every external this addon hands out carries the tag of its kind: an external of the other kind,
// of another addon, or a plain object passed where a handle belongs is refused with a TypeError,
// instead of being read as the wrong struct (a chunker taken for a copy hung on its mutex; a copy
// taken for a chunker wrote past it). The values are random; they only have to be this addon's own.
static const napi_type_tag COPY_TAG = {0x7b2d5c1e9a4f4e31ULL, 0xa6c3f0d84b1e2957ULL};
static const napi_type_tag CHUNKER_TAG = {0x3e8f1a6c5d2b4c07ULL, 0x91d7e4b0a2c65f18ULL};

// What an external of kind `tag` handed out by this addon holds; NULL (and a TypeError saying
// `what`) if `v` is anything else.
static void *external_of(napi_env env, napi_value v, const napi_type_tag *tag, const char *what) {
  void *data = NULL;
  napi_valuetype t;
  bool tagged = false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_check_object_type_tag(env, v, tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  return data;
}

// An external holding `data`, tagged as `tag`; NULL, with an error thrown and `data` finalized,
// where it cannot be made.
static napi_value tagged_external(napi_env env, void *data, napi_finalize finalize, const napi_type_tag *tag, const char *what) {
  napi_value ext;
  if (napi_create_external(env, data, finalize, NULL, &ext) != napi_ok) {
    finalize(env, data, NULL);
    napi_throw_error(env, NULL, what);
    return NULL;
  }
  // once created, the external owns `data`: its finalizer frees it when the value is collected
  if (napi_type_tag_object(env, ext, tag) != napi_ok) {
    napi_throw_error(env, NULL, what);
    return NULL;
  }
  return ext;
}

// The copy behind an external handed out by copyOpen; NULL (and a thrown error) if it is not
// one, or it has ended.
static copy_t *copy_of(napi_env env, napi_value v) {
  copy_t *c = external_of(env, v, &COPY_TAG, "not an open copy (copyOpen)");
  if (c && !c->carry) {
    napi_throw_type_error(env, NULL, "not an open copy (copyOpen): it has ended");
    return NULL;
  }
  return c;
}

// copyOpen(fd) -> a copy writing into fd from its start
static napi_value CopyOpen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "copyOpen(fd)");
    return NULL;
  }
  copy_t *c = calloc(1, sizeof(copy_t));
  if (c) c->carry = malloc(PIECE);
  if (!c || !c->carry) {
    if (c) free(c);
    napi_throw_error(env, NULL, "copyOpen: out of memory");
    return NULL;
  }
  c->fd = fd;
  blake3_hasher_init(&c->hasher);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  if (pthread_create(&c->thread, NULL, hash_loop, c) != 0) {
    finalize_copy(env, c, NULL);
    napi_throw_error(env, NULL, "copyOpen: cannot start the hashing thread");
    return NULL;
  }
  c->running = 1;
  return tagged_external(env, c, finalize_copy, &COPY_TAG, "copyOpen: cannot create the handle");
}

// Bytes of a record header (src/store/pack-format.ts): it precedes each chunk's bytes in a run.
#define HEADER_BYTES 48

// copyRun(copy, packFd, offset, length, spans, headers) -> 0; 1 when the run cannot be taken as
// it is (the pack ends before offset + length, the read fails, or a record's header is not the
// one expected), with nothing of it written or hashed; or -errno of a failed write. spans:
// Int32Array, [offset in the run, length] per chunk, in order; their bytes are written and
// hashed. headers: the record header expected before each span, HEADER_BYTES each.
static napi_value CopyRun(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t pfd;
  int64_t offset, length;
  napi_typedarray_type type;
  size_t n;
  void *raw;
  napi_typedarray_type htype;
  size_t hlen;
  void *hraw;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    napi_throw_type_error(env, NULL, "copyRun(copy, packFd, offset, length, spans, headers)");
    return NULL;
  }
  copy_t *c = copy_of(env, argv[0]);
  if (!c) return NULL;
  if (napi_get_value_int32(env, argv[1], &pfd) != napi_ok || napi_get_value_int64(env, argv[2], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &length) != napi_ok || napi_get_typedarray_info(env, argv[4], &type, &n, &raw, NULL, NULL) != napi_ok ||
      type != napi_int32_array || n % 2 != 0 || pfd < 0 || offset < 0 || length < 0 || length > (1LL << 31) ||
      napi_get_typedarray_info(env, argv[5], &htype, &hlen, &hraw, NULL, NULL) != napi_ok || htype != napi_uint8_array || hlen != n / 2 * HEADER_BYTES) {
    napi_throw_type_error(env, NULL, "copyRun(copy, packFd, offset, length, spans, headers)");
    return NULL;
  }
  const int32_t *sp = raw;
  const uint8_t *headers = hraw;
  for (size_t i = 0; i < n; i += 2) {
    if (sp[i] < HEADER_BYTES || sp[i + 1] < 0 || (int64_t)sp[i] + sp[i + 1] > length) {
      napi_throw_range_error(env, NULL, "copyRun: a span lies outside the run");
      return NULL;
    }
  }
  slot_t *s = free_slot(c);
  int err = grow(s, (size_t)length, n / 2);
  if (err) return int_result(env, -err);
  size_t done = 0;
  while (done < (size_t)length) {
    ssize_t r = pread(pfd, s->data + done, (size_t)length - done, (off_t)offset + (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return int_result(env, 1); // read it the careful way, which names what is wrong
    done += (size_t)r;
  }
  for (size_t i = 0; i < n; i += 2)
    if (memcmp(s->data + sp[i] - HEADER_BYTES, headers + i / 2 * HEADER_BYTES, HEADER_BYTES) != 0) return int_result(env, 1);
  s->nspans = n / 2;
  for (size_t i = 0; i < n; i += 2) s->spans[i / 2] = (span_t){(uint32_t)sp[i], (uint32_t)sp[i + 1]};
  err = write_spans(c, s, 0);
  if (err) return int_result(env, -err);
  hand_over(c);
  return int_result(env, 0);
}

// The copy and the Uint8Array of a call (copy, bytes); NULL (and a thrown error) if they are not.
static copy_t *copy_and_bytes(napi_env env, napi_callback_info info, const char *usage, void **data, size_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  napi_typedarray_type type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  copy_t *c = copy_of(env, argv[0]);
  if (!c) return NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, len, data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return c;
}

// copyBytes(copy, bytes) -> 0 or -errno: bytes the caller read itself (a chunk read on its own),
// written and hashed next.
static napi_value CopyBytes(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  copy_t *c = copy_and_bytes(env, info, "copyBytes(copy, bytes): bytes must be a Uint8Array", &data, &len);
  if (!c) return NULL;
  if (len > UINT32_MAX) return int_result(env, -EINVAL); // spans hold 32-bit lengths; chunks are far smaller
  slot_t *s = free_slot(c);
  int err = grow(s, len, 1);
  if (err) return int_result(env, -err);
  memcpy(s->data, data, len);
  s->nspans = 1;
  s->spans[0] = (span_t){0, (uint32_t)len};
  err = write_spans(c, s, 0);
  if (err) return int_result(env, -err);
  hand_over(c);
  return int_result(env, 0);
}

// copyEnd(copy, digest) -> 0 or -errno: writes what is left, waits for the hashing thread, puts
// the whole-file digest into `digest` (32 bytes) and frees the copy.
static napi_value CopyEnd(napi_env env, napi_callback_info info) {
  void *out;
  size_t len;
  const char *usage = "copyEnd(copy, digest): digest must be a Uint8Array of 32 bytes";
  copy_t *c = copy_and_bytes(env, info, usage, &out, &len);
  if (!c) return NULL;
  if (len != BLAKE3_OUT_LEN) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int err = write_spans(c, NULL, 1);
  stop_thread(c);
  blake3_hasher_finalize(&c->hasher, out, BLAKE3_OUT_LEN);
  stop_and_free(c);
  return int_result(env, err ? -err : 0);
}

// copyAbort(copy): stop and free a copy that will not be ended (after an error). A copy that has
// ended already is left as it is: aborting twice, or after copyEnd, is harmless.
static napi_value CopyAbort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, NULL, "copyAbort(copy)");
    return NULL;
  }
  copy_t *c = external_of(env, argv[0], &COPY_TAG, "not a copy (copyOpen)");
  if (c) stop_and_free(c);
  return NULL;
}
// chunkerOpen / chunkerPush (also built with TUSK_BLAKE3): the content worker's half of a big put,
// cutting a stream into chunks and hashing each, in one call per block. Exactly the cuts of
// findCut (src/store/chunker.ts), which the tests check cut for cut, but as a streaming scan: the
// state between blocks is the current chunk's length, its gear hash and its BLAKE3 hasher, so a
// block is scanned where it lies (the wasm scanner copied every block into its memory first) and
// a chunk that spans two blocks is hashed in two pieces instead of joined. findCut's rule, in
// the chunk's own offsets: the first minSize bytes are not scanned; from there h = (h << 1) +
// gear[byte], and the chunk ends after the first byte where h & small == 0 (below avgSize) or
// h & large == 0 (from avgSize), or at maxSize.
typedef struct {
  uint32_t gear[256];
  uint32_t min, avg, max, small, large;
  uint32_t len; // bytes of the current chunk so far
  uint32_t h;   // its gear hash (0 until minSize bytes are in)
  uint64_t total; // stream offset of the end of the bytes pushed before this block
  blake3_hasher hasher;
  double *ends;
  uint8_t *ids;
  size_t n, cap;
} chunker_t;

static void chunker_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  chunker_t *c = data;
  free(c->ends);
  free(c->ids);
  free(c);
}

static int chunk_done(chunker_t *c, const uint8_t *tail, size_t k, uint64_t end) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    double *e = realloc(c->ends, cap * sizeof(double));
    if (!e) return -1;
    c->ends = e;
    uint8_t *i = realloc(c->ids, cap * BLAKE3_OUT_LEN);
    if (!i) return -1;
    c->ids = i;
    c->cap = cap;
  }
  if (k) blake3_hasher_update(&c->hasher, tail, k);
  blake3_hasher_finalize(&c->hasher, c->ids + c->n * BLAKE3_OUT_LEN, BLAKE3_OUT_LEN);
  blake3_hasher_init(&c->hasher);
  c->ends[c->n++] = (double)end;
  c->len = 0;
  c->h = 0;
  return 0;
}

#define MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

// The gear hash over d[i, stop) until h & mask == 0: returns the index after the byte where it
// matched (and sets *cut), or stop.
static size_t gear_scan(const uint32_t *g, const uint8_t *d, size_t i, size_t stop, uint32_t mask, uint32_t *hp, int *cut) {
  uint32_t h = *hp;
  while (i < stop) {
    h = (h << 1) + g[d[i++]];
    if ((h & mask) == 0) {
      *cut = 1;
      break;
    }
  }
  *hp = h;
  return i;
}

static int chunker_scan(chunker_t *c, const uint8_t *d, size_t n) {
  const uint32_t *g = c->gear;
  size_t i = 0, seg = 0;
  while (i < n) {
    if (c->len < c->min) {
      size_t k = MIN_SZ((size_t)(c->min - c->len), n - i);
      i += k;
      c->len += (uint32_t)k;
      continue;
    }
    uint32_t h = c->h;
    size_t from = i;
    int cut = 0;
    if (c->len < c->avg) {
      i = gear_scan(g, d, i, i + MIN_SZ((size_t)(c->avg - c->len), n - i), c->small, &h, &cut);
      c->len += (uint32_t)(i - from);
      from = i;
    }
    if (!cut && c->len >= c->avg) {
      i = gear_scan(g, d, i, i + MIN_SZ((size_t)(c->max - c->len), n - i), c->large, &h, &cut);
      c->len += (uint32_t)(i - from);
    }
    c->h = h;
    if (cut || c->len == c->max) {
      if (chunk_done(c, d + seg, i - seg, c->total + i) != 0) return -1;
      seg = i;
    }
  }
  if (seg < n) blake3_hasher_update(&c->hasher, d + seg, n - seg);
  c->total += n;
  return 0;
}

static chunker_t *chunker_of(napi_env env, napi_value v) {
  return external_of(env, v, &CHUNKER_TAG, "not a chunker (chunkerOpen)");
}

// chunkerOpen(gear: Int32Array(256), minSize, avgSize, maxSize, small, large) -> a chunker
static napi_value ChunkerOpen(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_typedarray_type type;
  size_t length = 0;
  void *table = NULL;
  uint32_t v[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &table, NULL, NULL) != napi_ok || type != napi_int32_array || length != 256) {
    napi_throw_type_error(env, NULL, "chunkerOpen(gear: Int32Array(256), minSize, avgSize, maxSize, small, large)");
    return NULL;
  }
  for (int k = 0; k < 5; k++) {
    if (napi_get_value_uint32(env, argv[k + 1], &v[k]) != napi_ok) {
      napi_throw_type_error(env, NULL, "chunkerOpen: sizes and masks are 32-bit unsigned integers");
      return NULL;
    }
  }
  if (!(v[0] < v[1] && v[1] < v[2])) {
    napi_throw_range_error(env, NULL, "chunkerOpen: minSize < avgSize < maxSize");
    return NULL;
  }
  chunker_t *c = calloc(1, sizeof(chunker_t));
  if (!c) {
    napi_throw_error(env, NULL, "chunkerOpen: out of memory");
    return NULL;
  }
  memcpy(c->gear, table, sizeof(c->gear));
  c->min = v[0];
  c->avg = v[1];
  c->max = v[2];
  c->small = v[3];
  c->large = v[4];
  blake3_hasher_init(&c->hasher);
  return tagged_external(env, c, chunker_finalize, &CHUNKER_TAG, "chunkerOpen: cannot create the handle");
}

// chunkerPush(chunker, bytes: Uint8Array | null, end: boolean) -> [ends: Float64Array, ids: Buffer]:
// the chunks that ended in these bytes (with `end`, the stream's last one as well, and the
// chunker starts a new stream). ends are stream offsets; ids 32 bytes each.
static napi_value ChunkerPush(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) {
    napi_throw_type_error(env, NULL, "chunkerPush(chunker, bytes, end)");
    return NULL;
  }
  chunker_t *c = chunker_of(env, argv[0]);
  if (!c) return NULL;
  bool end = false;
  napi_valuetype t;
  const uint8_t *data = NULL;
  size_t length = 0;
  if (napi_get_value_bool(env, argv[2], &end) != napi_ok || napi_typeof(env, argv[1], &t) != napi_ok) {
    napi_throw_type_error(env, NULL, "chunkerPush(chunker, bytes, end): end is a boolean");
    return NULL;
  }
  if (t != napi_null) {
    napi_typedarray_type type;
    void *p = NULL;
    if (napi_get_typedarray_info(env, argv[1], &type, &length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "chunkerPush(chunker, bytes, end): bytes is a Uint8Array or null");
      return NULL;
    }
    data = p;
  }
  c->n = 0;
  int rc = length ? chunker_scan(c, data, length) : 0;
  if (rc == 0 && end && c->len > 0) rc = chunk_done(c, NULL, 0, c->total);
  if (end) {
    c->len = 0;
    c->h = 0;
    c->total = 0;
    blake3_hasher_init(&c->hasher);
  }
  if (rc != 0) {
    napi_throw_error(env, NULL, "chunkerPush: out of memory");
    return NULL;
  }
  napi_value out, ab, ends, ids;
  void *ep = NULL;
  void *ip = NULL;
  if (napi_create_array_with_length(env, 2, &out) != napi_ok || napi_create_arraybuffer(env, c->n * sizeof(double), &ep, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, c->n, ab, 0, &ends) != napi_ok || napi_create_buffer(env, c->n * BLAKE3_OUT_LEN, &ip, &ids) != napi_ok)
    return NULL;
  if (c->n) {
    memcpy(ep, c->ends, c->n * sizeof(double));
    memcpy(ip, c->ids, c->n * BLAKE3_OUT_LEN);
  }
  napi_set_element(env, out, 0, ends);
  napi_set_element(env, out, 1, ids);
  return out;
}

// readBatch (also built with TUSK_BLAKE3): put -r's batch of small files, file-batch.ts
// readFileBatch in C. Per file: a stat by path when a cached stat is given (equal: not read),
// else open, fstat, one pread of size + 1 bytes into the batch buffer, fstat again (it held
// still), BLAKE3 of the bytes when the file is one chunk, close. The same system calls as the
// JavaScript loop, without Node's work around each of them and a Stats object per file, which
// for many small files is a large share of the thread reading them.
enum { ST_READ = 0, ST_HASHED = 1, ST_CACHED = 2, ST_DEFERRED = 3, ST_FAILED = 4, ST_CHANGED = 5 };
enum { SC_STAT = 1, SC_OPEN = 2, SC_FSTAT = 3, SC_READ = 4, SC_NOT_REGULAR = 5 };
#define META 7
#define CACHED 5

// Stats as fs.statSync gives them: doubles, times in ms as Node computes them (sec * 1e3 + nsec / 1e6)
static double ms_of(struct timespec t) {
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void set_stat(double *m, const struct stat *st) {
  m[1] = (double)st->st_dev;
  m[2] = (double)st->st_ino;
  m[3] = (double)st->st_size;
  m[4] = ms_of(st->st_mtim);
  m[5] = ms_of(st->st_ctim);
}

// A file of the batch that failed: its status, errno and system call; its descriptor closed
// (after errno was taken: close may change it).
static void batch_failed(double *m, int32_t *e, int err, int syscall, int fd) {
  m[0] = ST_FAILED;
  e[0] = err;
  e[1] = syscall;
  if (fd >= 0) close(fd);
}

// readBatch(paths: string[], cached: Float64Array, maxRead, hashBelow, spare: ArrayBuffer | null)
//   -> [buf: ArrayBuffer, meta: Float64Array, ids: Buffer, errs: Int32Array (errno, syscall) per file]
static napi_value ReadBatch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t n = 0;
  bool is_array = false;
  napi_typedarray_type type;
  size_t cached_len = 0;
  void *cached_p = NULL;
  double max_read = 0, hash_below = 0;
  napi_valuetype spare_t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || napi_get_typedarray_info(env, argv[1], &type, &cached_len, &cached_p, NULL, NULL) != napi_ok ||
      type != napi_float64_array || cached_len != (size_t)n * CACHED || napi_get_value_double(env, argv[2], &max_read) != napi_ok ||
      napi_get_value_double(env, argv[3], &hash_below) != napi_ok || napi_typeof(env, argv[4], &spare_t) != napi_ok) {
    napi_throw_type_error(env, NULL, "readBatch(paths, cached: Float64Array(5 per path), maxRead, hashBelow, spare)");
    return NULL;
  }
  const double *cached = cached_p;
  napi_value buf_v, meta_ab, meta_v, ids_v, errs_ab, errs_v;
  void *meta_p = NULL, *ids_p = NULL, *errs_p = NULL, *data_p = NULL;
  size_t cap = 0;
  if (spare_t == napi_null || spare_t == napi_undefined) {
    cap = 1 << 20;
    if (napi_create_arraybuffer(env, cap, &data_p, &buf_v) != napi_ok) return NULL;
  } else {
    buf_v = argv[4];
    if (napi_get_arraybuffer_info(env, buf_v, &data_p, &cap) != napi_ok) {
      napi_throw_type_error(env, NULL, "readBatch: spare is an ArrayBuffer or null");
      return NULL;
    }
  }
  if (napi_create_arraybuffer(env, (size_t)n * META * sizeof(double), &meta_p, &meta_ab) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, (size_t)n * META, meta_ab, 0, &meta_v) != napi_ok ||
      napi_create_buffer(env, (size_t)n * BLAKE3_OUT_LEN, &ids_p, &ids_v) != napi_ok ||
      napi_create_arraybuffer(env, (size_t)n * 2 * sizeof(int32_t), &errs_p, &errs_ab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, (size_t)n * 2, errs_ab, 0, &errs_v) != napi_ok)
    return NULL;
  double *meta = meta_p;
  uint8_t *ids = ids_p;
  int32_t *errs = errs_p;
  uint8_t *data = data_p;
  memset(meta, 0, (size_t)n * META * sizeof(double));
  memset(ids, 0, (size_t)n * BLAKE3_OUT_LEN);
  memset(errs, 0, (size_t)n * 2 * sizeof(int32_t));
  size_t used = 0;
  char path[PATH_MAX + 1];
  for (uint32_t i = 0; i < n; i++) {
    double *m = meta + (size_t)i * META;
    const double *c = cached + (size_t)i * CACHED;
    int32_t *e = errs + (size_t)i * 2;
    napi_value pv;
    size_t plen = 0;
    if (napi_get_element(env, argv[0], i, &pv) != napi_ok || napi_get_value_string_utf8(env, pv, path, sizeof(path), &plen) != napi_ok) {
      napi_throw_type_error(env, NULL, "readBatch: paths are strings");
      return NULL;
    }
    // a full buffer may have cut the path short; strlen < plen: it held a NUL
    if (plen >= sizeof(path) - 1 || strlen(path) != plen) {
      batch_failed(m, e, plen >= sizeof(path) - 1 ? ENAMETOOLONG : EINVAL, SC_OPEN, -1);
      continue;
    }
    struct stat st, after;
    if (!isnan(c[0])) {
      if (stat(path, &st) != 0) {
        batch_failed(m, e, errno, SC_STAT, -1);
        continue;
      }
      if (c[0] == (double)st.st_dev && c[1] == (double)st.st_ino && c[2] == (double)st.st_size && c[3] == ms_of(st.st_mtim) && c[4] == ms_of(st.st_ctim) &&
          S_ISREG(st.st_mode)) {
        set_stat(m, &st);
        m[0] = ST_CACHED;
        continue;
      }
    }
    // O_NONBLOCK: a FIFO put where a file was must not hang the open; regular files ignore it
    int fd;
    do fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      batch_failed(m, e, errno, SC_OPEN, -1);
      continue;
    }
    if (fstat(fd, &st) != 0) {
      batch_failed(m, e, errno, SC_FSTAT, fd);
      continue;
    }
    set_stat(m, &st);
    if (!S_ISREG(st.st_mode)) {
      batch_failed(m, e, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, SC_NOT_REGULAR, fd);
      continue;
    }
    size_t size = (size_t)st.st_size;
    if ((double)size > max_read) {
      m[0] = ST_DEFERRED;
      close(fd);
      continue;
    }
    if (used + size + 1 > cap) {
      size_t bigger = cap * 2 > used + size + 1 ? cap * 2 : used + size + 1;
      void *p = NULL;
      napi_value v;
      if (napi_create_arraybuffer(env, bigger, &p, &v) != napi_ok) {
        close(fd);
        return NULL;
      }
      memcpy(p, data, used);
      data = p;
      cap = bigger;
      buf_v = v;
    }
    // the byte past this file's end is the next file's first: reading into it only to see
    // whether there is one more is harmless, the next read overwrites it
    size_t got = 0;
    int failed = 0;
    for (;;) {
      ssize_t r = pread(fd, data + used + got, size + 1 - got, (off_t)got);
      if (r < 0) {
        if (errno == EINTR) continue;
        failed = errno;
        break;
      }
      if (r == 0) break;
      got += (size_t)r;
      if (got >= size) break;
    }
    if (failed) {
      batch_failed(m, e, failed, SC_READ, fd);
      continue;
    }
    if (fstat(fd, &after) != 0) {
      batch_failed(m, e, errno, SC_FSTAT, fd);
      continue;
    }
    close(fd);
    m[6] = (double)used;
    if (got != size || after.st_size != st.st_size || ms_of(after.st_mtim) != ms_of(st.st_mtim) || after.st_ino != st.st_ino)
      m[0] = ST_CHANGED;
    else if (size > 0 && (double)size < hash_below) {
      blake3_hasher h;
      blake3_hasher_init(&h);
      blake3_hasher_update(&h, data + used, size);
      blake3_hasher_finalize(&h, ids + (size_t)i * BLAKE3_OUT_LEN, BLAKE3_OUT_LEN);
      m[0] = ST_HASHED;
    } else
      m[0] = ST_READ;
    used += size;
  }
  napi_value out;
  if (napi_create_array_with_length(env, 4, &out) != napi_ok) return NULL;
  napi_set_element(env, out, 0, buf_v);
  napi_set_element(env, out, 1, meta_v);
  napi_set_element(env, out, 2, ids_v);
  napi_set_element(env, out, 3, errs_v);
  return out;
}

#endif

#ifdef TUSK_BLAKE3
// hasherOpen / hasherUpdate / hasherDigest / hasherState (also built with TUSK_BLAKE3): a whole-file
// BLAKE3 hasher whose state can be written out and taken up again, so that a content that
// extends an earlier one hashes only its new bytes (src/store/hash-state.ts). The state is what
// BLAKE3 itself carries between inputs, written field by field in a fixed byte order (never the
// struct's memory, whose layout is the compiler's):
//   byte 0       format (1)
//   bytes 1-8    chunk counter: 1 KiB chunks before the current one (u64, little-endian)
//   bytes 9-40   the current chunk's chaining value after its compressed blocks (8 × u32 LE)
//   byte 41      blocks of the current chunk compressed (0-16)
//   byte 42      bytes of its block not yet compressed (0-64)
//   byte 43      chaining values on the subtree stack (0-55)
//   then those block bytes, then the stack's chaining values (32 bytes each, bottom first).
// A hasher taken up from a state and given the rest of the input digests exactly as one that
// was given all of it (the tests compare them over many sizes, and the states of hashers given
// the same bytes in different pieces); a state that was damaged gives
// another digest, which the caller compares with the known id of the earlier content first.
#define STATE_FORMAT 1
#define STATE_HEAD 44
static const napi_type_tag HASHER_TAG = {0x5a0c9e73b1d84f26ULL, 0xc4e81b3f27a95d60ULL};

// The handle holds the ~1.9 KB hasher apart, so that hasherClose frees it as soon as a content
// is hashed: V8 does not see that memory, and a put of many files of two or more chunks left
// thousands of unreachable hashers (~600 MB per 300,000) waiting for a full collection.
typedef struct {
  blake3_hasher *h;
} hasher_t;

static void hasher_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  hasher_t *t = data;
  free(t->h);
  free(t);
}

static blake3_hasher *hasher_of(napi_env env, napi_value v) {
  hasher_t *t = external_of(env, v, &HASHER_TAG, "not a hasher (hasherOpen)");
  if (t && !t->h) {
    napi_throw_type_error(env, NULL, "not an open hasher (hasherOpen): it was closed");
    return NULL;
  }
  return t ? t->h : NULL;
}

static void put_u32le(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Takes a state written by hasherState; false (and `h` unusable) where it is not one.
static bool hasher_restore(blake3_hasher *h, const uint8_t *s, size_t len) {
  if (len < STATE_HEAD || s[0] != STATE_FORMAT) return false;
  uint8_t blocks = s[41], buf_len = s[42], stack = s[43];
  if (blocks > BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN || buf_len > BLAKE3_BLOCK_LEN || (size_t)blocks * BLAKE3_BLOCK_LEN + buf_len > BLAKE3_CHUNK_LEN ||
      stack > BLAKE3_MAX_DEPTH + 1 || len != STATE_HEAD + (size_t)buf_len + (size_t)stack * BLAKE3_OUT_LEN)
    return false;
  // with no chunk pending, finalizing starts from the top two subtrees: a state without them
  // (other than the empty one) would read below the stack
  if (blocks == 0 && buf_len == 0 && stack != 0 && stack < 2) return false;
  if (blocks == 0 && buf_len == 0 && stack == 0 && (s[1] | s[2] | s[3] | s[4] | s[5] | s[6] | s[7] | s[8]) != 0) return false;
  uint64_t counter = 0;
  for (int i = 0; i < 8; i++) counter |= (uint64_t)s[1 + i] << (8 * i);
  // more chunks than the stack has room for is no input BLAKE3 takes (2^64 bytes)
  if (counter >= (1ULL << BLAKE3_MAX_DEPTH)) return false;
  blake3_hasher_init(h);
  h->chunk.chunk_counter = counter;
  for (int i = 0; i < 8; i++) h->chunk.cv[i] = get_u32le(s + 9 + 4 * i);
  // before its first block is compressed, a chunk's chaining value is the key: nothing else is a state
  if (blocks == 0 && memcmp(h->chunk.cv, h->key, sizeof(h->chunk.cv)) != 0) return false;
  h->chunk.blocks_compressed = blocks;
  h->chunk.buf_len = buf_len;
  memcpy(h->chunk.buf, s + STATE_HEAD, buf_len);
  h->cv_stack_len = stack;
  memcpy(h->cv_stack, s + STATE_HEAD + buf_len, (size_t)stack * BLAKE3_OUT_LEN);
  return true;
}

// hasherOpen(state: Uint8Array | null) -> a hasher, or null where `state` is not a valid state
static napi_value HasherOpen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_typeof(env, argv[0], &t) != napi_ok) {
    napi_throw_type_error(env, NULL, "hasherOpen(state)");
    return NULL;
  }
  blake3_hasher *h = malloc(sizeof(blake3_hasher));
  if (!h) {
    napi_throw_error(env, NULL, "hasherOpen: out of memory");
    return NULL;
  }
  if (t == napi_null) blake3_hasher_init(h);
  else {
    napi_typedarray_type type;
    size_t length = 0;
    void *p = NULL;
    if (napi_get_typedarray_info(env, argv[0], &type, &length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
      free(h);
      napi_throw_type_error(env, NULL, "hasherOpen(state): state is a Uint8Array or null");
      return NULL;
    }
    if (!hasher_restore(h, p, length)) {
      free(h);
      napi_value none;
      napi_get_null(env, &none);
      return none;
    }
  }
  hasher_t *handle = malloc(sizeof(hasher_t));
  if (!handle) {
    free(h);
    napi_throw_error(env, NULL, "hasherOpen: out of memory");
    return NULL;
  }
  handle->h = h;
  return tagged_external(env, handle, hasher_finalize, &HASHER_TAG, "hasherOpen: cannot create the handle");
}

// hasherUpdate(hasher, bytes: Uint8Array)
static napi_value HasherUpdate(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_typedarray_type type;
  size_t length = 0;
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "hasherUpdate(hasher, bytes)");
    return NULL;
  }
  blake3_hasher *h = hasher_of(env, argv[0]);
  if (!h) return NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "hasherUpdate(hasher, bytes): bytes is a Uint8Array");
    return NULL;
  }
  if (length) blake3_hasher_update(h, p, length);
  return NULL;
}

// hasherDigest(hasher) -> Buffer(32): the digest of the input so far; the hasher can go on
static napi_value HasherDigest(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, NULL, "hasherDigest(hasher)");
    return NULL;
  }
  blake3_hasher *h = hasher_of(env, argv[0]);
  if (!h || napi_create_buffer(env, BLAKE3_OUT_LEN, &p, &out) != napi_ok) return NULL;
  blake3_hasher_finalize(h, p, BLAKE3_OUT_LEN);
  return out;
}

// hasherClose(hasher): frees the hasher now; using it afterwards is a TypeError
static napi_value HasherClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, NULL, "hasherClose(hasher)");
    return NULL;
  }
  hasher_t *t = external_of(env, argv[0], &HASHER_TAG, "not a hasher (hasherOpen)");
  if (!t) return NULL;
  free(t->h);
  t->h = NULL;
  return NULL;
}

// hasherState(hasher) -> Buffer: the state, in the format above
static napi_value HasherState(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, NULL, "hasherState(hasher)");
    return NULL;
  }
  blake3_hasher *src = hasher_of(env, argv[0]);
  if (!src) return NULL;
  // BLAKE3 keeps its state in more than one form for the same bytes: the subtree stack is merged
  // lazily, and a last chunk of exactly 1 KiB is kept pending or already pushed, depending on
  // how the bytes came in. The state written out is one form, so that it is a function of the
  // bytes alone: a full pending chunk is pushed, then the stack is merged as far as finalizing
  // allows (down to one subtree per bit of the chunk counter; with no chunk pending, never below
  // the two whose parent is the root). A copy is changed: the hasher itself goes on as it was.
  blake3_hasher copy = *src, *h = &copy;
  // (not the first chunk: alone, it is the root, which its chaining value cannot give)
  if (h->chunk.chunk_counter > 0 && h->chunk.blocks_compressed == BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN - 1 && h->chunk.buf_len == BLAKE3_BLOCK_LEN) {
    uint32_t cv[8];
    memcpy(cv, h->chunk.cv, sizeof(cv));
    blake3_compress_in_place(cv, h->chunk.buf, BLAKE3_BLOCK_LEN, h->chunk.chunk_counter, h->chunk.flags | CHUNK_END);
    store_cv_words(&h->cv_stack[h->cv_stack_len * BLAKE3_OUT_LEN], cv);
    h->cv_stack_len++;
    h->chunk.chunk_counter++;
    memcpy(h->chunk.cv, h->key, sizeof(h->chunk.cv));
    h->chunk.blocks_compressed = 0;
    h->chunk.buf_len = 0;
  }
  bool pending = h->chunk.blocks_compressed > 0 || h->chunk.buf_len > 0;
  size_t keep = popcnt(h->chunk.chunk_counter);
  if (!pending && keep < 2) keep = 2;
  while (h->cv_stack_len > keep) {
    uint8_t *parent = &h->cv_stack[(h->cv_stack_len - 2) * BLAKE3_OUT_LEN];
    uint32_t cv[8];
    memcpy(cv, h->key, sizeof(cv));
    blake3_compress_in_place(cv, parent, BLAKE3_BLOCK_LEN, 0, h->chunk.flags | PARENT);
    store_cv_words(parent, cv);
    h->cv_stack_len--;
  }
  size_t len = STATE_HEAD + h->chunk.buf_len + (size_t)h->cv_stack_len * BLAKE3_OUT_LEN;
  if (napi_create_buffer(env, len, &p, &out) != napi_ok) return NULL;
  uint8_t *s = p;
  s[0] = STATE_FORMAT;
  for (int i = 0; i < 8; i++) s[1 + i] = (uint8_t)(h->chunk.chunk_counter >> (8 * i));
  for (int i = 0; i < 8; i++) put_u32le(s + 9 + 4 * i, h->chunk.cv[i]);
  s[41] = h->chunk.blocks_compressed;
  s[42] = h->chunk.buf_len;
  s[43] = h->cv_stack_len;
  memcpy(s + STATE_HEAD, h->chunk.buf, h->chunk.buf_len);
  memcpy(s + STATE_HEAD + h->chunk.buf_len, h->cv_stack, (size_t)h->cv_stack_len * BLAKE3_OUT_LEN);
  return out;
}
#endif

static bool define(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok && napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!define(env, exports, "fallocate", Fallocate)) return NULL;
#ifdef TUSK_BLAKE3
  if (!define(env, exports, "copyOpen", CopyOpen) || !define(env, exports, "copyRun", CopyRun) || !define(env, exports, "copyBytes", CopyBytes) ||
      !define(env, exports, "copyEnd", CopyEnd) || !define(env, exports, "copyAbort", CopyAbort) || !define(env, exports, "chunkerOpen", ChunkerOpen) ||
      !define(env, exports, "chunkerPush", ChunkerPush) || !define(env, exports, "readBatch", ReadBatch) ||
      !define(env, exports, "hasherOpen", HasherOpen) || !define(env, exports, "hasherUpdate", HasherUpdate) ||
      !define(env, exports, "hasherDigest", HasherDigest) || !define(env, exports, "hasherState", HasherState) ||
      !define(env, exports, "hasherClose", HasherClose))
    return NULL;
#endif
  return exports;
}
