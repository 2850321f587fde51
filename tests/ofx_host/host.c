/*
 * A minimal OpenFX host for testing the ColorMotion bundle through the real C ABI.
 *
 * It implements the property, image effect, parameter, memory, multithread and message suites
 * and drives one plug-in from a small script (see usage below). It can behave like MLT
 * (Kdenlive/Shotcut: a fresh instance per frame, no temporal clip access, clipGetImage and
 * paramGetValueAtTime ignore the time asked for, Choice set by label) or like Natron/Resolve
 * (temporal clip access, one instance rendering out of order on several threads, keyframes).
 *
 * Frames are .npy files (uint8, uint16, float16 or float32, [H, W, C], C in 1/3/4), read from
 * the input folder as in_%05d.npy and written to the output folder as out_%05d.npy, top-down.
 * Everything the test checks is printed on stdout, one fact per line:
 *   STATUS <action> <status>      RENDER <t> <status> <ms>      FRAMES <t> <a> <b> ...
 *   MESSAGE <type> <text>         TIME <what> <ms>              HOST DONE
 *
 * Script lines (blank lines and # comments ignored):
 *   plugin PATH                  the .ofx binary
 *   mode natron|mlt
 *   input DIR FIRST LAST         source frames
 *   output DIR
 *   context filter|general
 *   rows up|down                 up: positive rowBytes (bottom-up memory), down: negative
 *   padding BYTES                extra bytes at the end of each row
 *   scale S                      render scale (frames on disk are already at that scale)
 *   window X1 Y1 X2 Y2           render window in pixels (default: the whole frame)
 *   threads N
 *   set NAME VALUE...            parameter value (choice: its label; string: rest of line)
 *   key NAME TIME VALUE...       keyframe (natron: interpolated; mlt: evaluated at the frame)
 *   render T...                  frames to render, handed to the threads in this order
 *   python LIBPYTHON             start this Python in the process before loading (like Nuke)
 *   fault no_rowbytes            images lack kOfxImagePropRowBytes (a broken host)
 *   stop_after load|describe     end after that action (discovery-only hosts)
 *   bench_actions N              time N calls of a no-op action and of GetClipPreferences
 *   premultiplied                images carry associated alpha (Natron, Nuke)
 *   unscaled_defaults            ignore kOfxParamCoordinatesNormalised defaults (as Resolve does)
 *   connect_optional             connect optional inputs too (they show the source frames)
 *   purge                        send PurgeCaches after every render (low-memory host)
 *   cycles N                     load, use and unload (dlclose) the plug-in N times in this process
 *   changed NAME                 tell the instance its parameter NAME was edited (InstanceChanged)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ofxCore.h"
#include "ofxImageEffect.h"
#include "ofxMemory.h"
#include "ofxMessage.h"
#include "ofxMultiThread.h"
#include "ofxParam.h"
#include "ofxProperty.h"
#include "ofxGPURender.h"

#define MAXDIM 64
#define MAXPARAMS 128
#define MAXKEYS 32
#define MAXFRAMES 4096
#define MAXSETTINGS 256

/* ------------------------------------------------------------------------------------------ */
/* Properties                                                                                  */

enum { P_INT, P_DOUBLE, P_STRING, P_POINTER };

typedef struct Prop {
  char name[96];
  int type;
  int n;
  int ints[MAXDIM];
  double doubles[MAXDIM];
  char *strings[MAXDIM];
  void *pointers[MAXDIM];
} Prop;

typedef struct PropSet {
  Prop *props;
  int n, cap;
} PropSet;

static pthread_mutex_t g_props_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_print_mutex = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *format, ...) {
  pthread_mutex_lock(&g_print_mutex);
  va_list args;
  va_start(args, format);
  vprintf(format, args);
  va_end(args);
  fputc('\n', stdout);
  fflush(stdout);
  pthread_mutex_unlock(&g_print_mutex);
}

static Prop *find_prop(PropSet *set, const char *name) {
  for (int i = 0; i < set->n; i++)
    if (strcmp(set->props[i].name, name) == 0) return &set->props[i];
  return NULL;
}

static Prop *make_prop(PropSet *set, const char *name, int type) {
  Prop *prop = find_prop(set, name);
  if (prop) return prop;
  if (set->n == set->cap) {
    set->cap = set->cap ? set->cap * 2 : 16;
    set->props = realloc(set->props, sizeof(Prop) * (size_t)set->cap);
  }
  prop = &set->props[set->n++];
  memset(prop, 0, sizeof *prop);
  snprintf(prop->name, sizeof prop->name, "%s", name);
  prop->type = type;
  return prop;
}

static void free_props(PropSet *set) {
  for (int i = 0; i < set->n; i++)
    for (int j = 0; j < MAXDIM; j++) free(set->props[i].strings[j]);
  free(set->props);
  memset(set, 0, sizeof *set);
}

/* Strict hosts refuse property names the specification does not define (KNOWN_PROPERTIES is
 * generated from the official headers by the test harness). */
static int is_known_property(const char *name) {
  for (int i = 0; KNOWN_PROPERTIES[i]; i++)
    if (strcmp(KNOWN_PROPERTIES[i], name) == 0) return 1;
  for (int i = 0; KNOWN_PROPERTY_PREFIXES[i]; i++)
    if (strncmp(KNOWN_PROPERTY_PREFIXES[i], name, strlen(KNOWN_PROPERTY_PREFIXES[i])) == 0) return 1;
  return 0;
}

static OfxStatus prop_set(OfxPropertySetHandle handle, const char *name, int index, int type, const void *value) {
  if (!handle || !name || index < 0 || index >= MAXDIM) return kOfxStatErrBadIndex;
  if (!is_known_property(name)) {
    say("UNKNOWN_PROPERTY %s", name);
    return kOfxStatErrUnknown;
  }
  pthread_mutex_lock(&g_props_mutex);
  Prop *prop = make_prop((PropSet *)handle, name, type);
  prop->type = type;
  if (type == P_INT) prop->ints[index] = *(const int *)value, prop->doubles[index] = *(const int *)value;
  if (type == P_DOUBLE) prop->doubles[index] = *(const double *)value, prop->ints[index] = (int)*(const double *)value;
  if (type == P_STRING) {
    free(prop->strings[index]);
    prop->strings[index] = strdup(*(const char *const *)value ? *(const char *const *)value : "");
  }
  if (type == P_POINTER) prop->pointers[index] = *(void *const *)value;
  if (index >= prop->n) prop->n = index + 1;
  pthread_mutex_unlock(&g_props_mutex);
  return kOfxStatOK;
}

static OfxStatus prop_get(OfxPropertySetHandle handle, const char *name, int index, int type, void *value) {
  if (!handle || !name) return kOfxStatErrBadHandle;
  pthread_mutex_lock(&g_props_mutex);
  Prop *prop = find_prop((PropSet *)handle, name);
  OfxStatus status = kOfxStatOK;
  if (!prop)
    status = kOfxStatErrUnknown;
  else if (index < 0 || index >= prop->n)
    status = kOfxStatErrBadIndex;
  else if (type == P_INT)
    *(int *)value = prop->type == P_DOUBLE ? (int)prop->doubles[index] : prop->ints[index];
  else if (type == P_DOUBLE)
    *(double *)value = prop->type == P_INT ? prop->ints[index] : prop->doubles[index];
  else if (type == P_STRING)
    *(char **)value = prop->strings[index] ? prop->strings[index] : (char *)"";
  else
    *(void **)value = prop->pointers[index];
  pthread_mutex_unlock(&g_props_mutex);
  return status;
}

static OfxStatus propSetPointer(OfxPropertySetHandle h, const char *p, int i, void *v) { return prop_set(h, p, i, P_POINTER, &v); }
static OfxStatus propSetString(OfxPropertySetHandle h, const char *p, int i, const char *v) { return prop_set(h, p, i, P_STRING, &v); }
static OfxStatus propSetDouble(OfxPropertySetHandle h, const char *p, int i, double v) { return prop_set(h, p, i, P_DOUBLE, &v); }
static OfxStatus propSetInt(OfxPropertySetHandle h, const char *p, int i, int v) { return prop_set(h, p, i, P_INT, &v); }
static OfxStatus propSetPointerN(OfxPropertySetHandle h, const char *p, int n, void *const *v) {
  for (int i = 0; i < n; i++) prop_set(h, p, i, P_POINTER, &v[i]);
  return kOfxStatOK;
}
static OfxStatus propSetStringN(OfxPropertySetHandle h, const char *p, int n, const char *const *v) {
  for (int i = 0; i < n; i++) prop_set(h, p, i, P_STRING, &v[i]);
  return kOfxStatOK;
}
static OfxStatus propSetDoubleN(OfxPropertySetHandle h, const char *p, int n, const double *v) {
  for (int i = 0; i < n; i++) prop_set(h, p, i, P_DOUBLE, &v[i]);
  return kOfxStatOK;
}
static OfxStatus propSetIntN(OfxPropertySetHandle h, const char *p, int n, const int *v) {
  for (int i = 0; i < n; i++) prop_set(h, p, i, P_INT, &v[i]);
  return kOfxStatOK;
}
static OfxStatus propGetPointer(OfxPropertySetHandle h, const char *p, int i, void **v) { return prop_get(h, p, i, P_POINTER, v); }
static OfxStatus propGetString(OfxPropertySetHandle h, const char *p, int i, char **v) { return prop_get(h, p, i, P_STRING, v); }
static OfxStatus propGetDouble(OfxPropertySetHandle h, const char *p, int i, double *v) { return prop_get(h, p, i, P_DOUBLE, v); }
static OfxStatus propGetInt(OfxPropertySetHandle h, const char *p, int i, int *v) { return prop_get(h, p, i, P_INT, v); }
static OfxStatus propGetPointerN(OfxPropertySetHandle h, const char *p, int n, void **v) {
  for (int i = 0; i < n; i++) {
    OfxStatus s = prop_get(h, p, i, P_POINTER, &v[i]);
    if (s) return s;
  }
  return kOfxStatOK;
}
static OfxStatus propGetStringN(OfxPropertySetHandle h, const char *p, int n, char **v) {
  for (int i = 0; i < n; i++) {
    OfxStatus s = prop_get(h, p, i, P_STRING, &v[i]);
    if (s) return s;
  }
  return kOfxStatOK;
}
static OfxStatus propGetDoubleN(OfxPropertySetHandle h, const char *p, int n, double *v) {
  for (int i = 0; i < n; i++) {
    OfxStatus s = prop_get(h, p, i, P_DOUBLE, &v[i]);
    if (s) return s;
  }
  return kOfxStatOK;
}
static OfxStatus propGetIntN(OfxPropertySetHandle h, const char *p, int n, int *v) {
  for (int i = 0; i < n; i++) {
    OfxStatus s = prop_get(h, p, i, P_INT, &v[i]);
    if (s) return s;
  }
  return kOfxStatOK;
}
static OfxStatus propReset(OfxPropertySetHandle h, const char *p) {
  (void)h, (void)p;
  return kOfxStatOK;
}
static OfxStatus propGetDimension(OfxPropertySetHandle h, const char *p, int *count) {
  pthread_mutex_lock(&g_props_mutex);
  Prop *prop = find_prop((PropSet *)h, p);
  if (prop) *count = prop->n;
  pthread_mutex_unlock(&g_props_mutex);
  return prop ? kOfxStatOK : kOfxStatErrUnknown;
}

static OfxPropertySuiteV1 g_property_suite = {
    propSetPointer,  propSetString,  propSetDouble,  propSetInt,     propSetPointerN, propSetStringN,
    propSetDoubleN,  propSetIntN,    propGetPointer, propGetString,  propGetDouble,   propGetInt,
    propGetPointerN, propGetStringN, propGetDoubleN, propGetIntN,    propReset,       propGetDimension,
};

static void set_str(PropSet *s, const char *name, const char *value) { propSetString((OfxPropertySetHandle)s, name, 0, value); }
static void set_int(PropSet *s, const char *name, int value) { propSetInt((OfxPropertySetHandle)s, name, 0, value); }
static void set_dbl(PropSet *s, const char *name, int index, double value) { propSetDouble((OfxPropertySetHandle)s, name, index, value); }

/* ------------------------------------------------------------------------------------------ */
/* Frames (.npy)                                                                               */

typedef struct Frame {
  int height, width, channels, bytes_per_component;
  const char *depth; /* kOfxBitDepth* */
  unsigned char *pixels; /* top-down, packed */
} Frame;

static const char *components_of(int channels) {
  return channels == 4 ? kOfxImageComponentRGBA : channels == 3 ? kOfxImageComponentRGB : kOfxImageComponentAlpha;
}

static int load_npy(const char *path, Frame *frame) {
  FILE *file = fopen(path, "rb");
  if (!file) return 0;
  unsigned char magic[10];
  if (fread(magic, 1, 10, file) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0) return fclose(file), 0;
  size_t header_length = magic[8] | (magic[9] << 8);
  if (magic[6] >= 2) { /* version 2: four-byte length */
    unsigned char more[2];
    if (fread(more, 1, 2, file) != 2) return fclose(file), 0;
    header_length |= ((size_t)more[0] << 16) | ((size_t)more[1] << 24);
  }
  char *header = calloc(1, header_length + 1);
  if (fread(header, 1, header_length, file) != header_length) return free(header), fclose(file), 0;
  const char *descr = strstr(header, "'descr': '");
  const char *shape = strstr(header, "'shape': (");
  int ok = descr && shape && !strstr(header, "'fortran_order': True");
  if (ok) {
    descr += 10;
    if (strncmp(descr, "|u1", 3) == 0) frame->depth = kOfxBitDepthByte, frame->bytes_per_component = 1;
    else if (strncmp(descr, "<u2", 3) == 0) frame->depth = kOfxBitDepthShort, frame->bytes_per_component = 2;
    else if (strncmp(descr, "<f2", 3) == 0) frame->depth = kOfxBitDepthHalf, frame->bytes_per_component = 2;
    else if (strncmp(descr, "<f4", 3) == 0) frame->depth = kOfxBitDepthFloat, frame->bytes_per_component = 4;
    else ok = 0;
    ok = ok && sscanf(shape + 10, "%d, %d, %d", &frame->height, &frame->width, &frame->channels) == 3;
  }
  free(header);
  if (ok) {
    size_t size = (size_t)frame->height * frame->width * frame->channels * frame->bytes_per_component;
    frame->pixels = malloc(size);
    ok = fread(frame->pixels, 1, size, file) == size;
  }
  fclose(file);
  return ok;
}

static const char *npy_descr(const char *depth) {
  if (strcmp(depth, kOfxBitDepthByte) == 0) return "|u1";
  if (strcmp(depth, kOfxBitDepthShort) == 0) return "<u2";
  if (strcmp(depth, kOfxBitDepthHalf) == 0) return "<f2";
  return "<f4";
}

/* ------------------------------------------------------------------------------------------ */
/* Host objects                                                                                */

typedef struct Param {
  PropSet props; /* first member: the param's property set handle */
  char name[64];
  char type[48];
  int dims;
  double value[4];
  char *string;
  int keys;
  double key_time[MAXKEYS];
  double key_value[MAXKEYS][4];
} Param;

typedef struct ParamSet {
  PropSet props;
  Param *params[MAXPARAMS];
  int n;
} ParamSet;

struct Effect;
typedef struct Clip {
  PropSet props;
  char name[32];
  struct Effect *effect;
} Clip;

typedef struct Effect {
  PropSet props;
  ParamSet params;
  Clip *clips[4];
  int nclips;
} Effect;

typedef struct Image {
  PropSet props;
  unsigned char *memory;
  int owned;
} Image;

/* the host's settings, from the script */
static struct {
  char plugin[4096], input[4096], output[4096], python[4096];
  int mlt, first, last, rows_down, padding, threads, have_window, fault_no_rowbytes, stop_after_load,
      stop_after_describe, bench_actions, premultiplied, purge, cycles, unscaled_defaults, connect_optional;
  char changed[64];
  int window[4];
  double scale;
  const char *context;
  Frame frames[MAXFRAMES];
  int render_times[MAXFRAMES], nrender;
  char *settings[MAXSETTINGS]; /* "set ..." and "key ..." lines, applied to every instance */
  int nsettings;
} cfg;

static PropSet g_host_props;
static OfxHost g_host;
static OfxPlugin *g_plugin;
static __thread double tls_time;
static __thread Image *tls_output;
static __thread unsigned int tls_thread_index;
static __thread int tls_spawned;

static Frame *frame_at(int t) {
  if (t < cfg.first || t > cfg.last) return NULL;
  Frame *frame = &cfg.frames[t - cfg.first];
  return frame->pixels ? frame : NULL;
}

static int param_is_int(const Param *p) {
  return !strcmp(p->type, kOfxParamTypeInteger) || !strcmp(p->type, kOfxParamTypeBoolean) ||
         !strcmp(p->type, kOfxParamTypeChoice);
}

static int param_dims(const char *type) {
  if (!strcmp(type, kOfxParamTypeRGBA)) return 4;
  if (!strcmp(type, kOfxParamTypeRGB)) return 3;
  if (!strcmp(type, kOfxParamTypeDouble2D)) return 2;
  if (!strcmp(type, kOfxParamTypeGroup) || !strcmp(type, kOfxParamTypePage)) return 0;
  return 1;
}

/* The value at `time`: keys interpolated linearly (integers hold the previous key). */
static void param_value_at(const Param *p, double time, double out[4]) {
  memcpy(out, p->value, sizeof p->value);
  if (p->keys == 0) return;
  int after = 0;
  while (after < p->keys && p->key_time[after] <= time) after++;
  if (after == 0) return (void)memcpy(out, p->key_value[0], sizeof p->value);
  if (after == p->keys || param_is_int(p)) return (void)memcpy(out, p->key_value[after - 1], sizeof p->value);
  double t0 = p->key_time[after - 1], t1 = p->key_time[after], w = (time - t0) / (t1 - t0);
  for (int d = 0; d < 4; d++) out[d] = p->key_value[after - 1][d] * (1 - w) + p->key_value[after][d] * w;
}

static OfxStatus write_value(const Param *p, double time, va_list args) {
  if (!strcmp(p->type, kOfxParamTypeString)) {
    *va_arg(args, char **) = p->string ? p->string : (char *)"";
    return kOfxStatOK;
  }
  double value[4];
  param_value_at(p, time, value);
  for (int d = 0; d < p->dims; d++) {
    if (param_is_int(p))
      *va_arg(args, int *) = (int)lround(value[d]);
    else
      *va_arg(args, double *) = value[d];
  }
  return kOfxStatOK;
}

/* ------------------------------------------------------------------------------------------ */
/* Parameter suite                                                                             */

static OfxStatus paramDefine(OfxParamSetHandle set_handle, const char *type, const char *name, OfxPropertySetHandle *props) {
  ParamSet *set = (ParamSet *)set_handle;
  if (set->n >= MAXPARAMS) return kOfxStatErrMemory;
  for (int i = 0; i < set->n; i++)
    if (!strcmp(set->params[i]->name, name)) return kOfxStatErrExists;
  Param *p = calloc(1, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->type, sizeof p->type, "%s", type);
  p->dims = param_dims(type);
  set_str(&p->props, kOfxParamPropType, type);
  set_str(&p->props, kOfxPropName, name);
  set->params[set->n++] = p;
  if (props) *props = (OfxPropertySetHandle)&p->props;
  return kOfxStatOK;
}

static Param *find_param(ParamSet *set, const char *name) {
  for (int i = 0; i < set->n; i++)
    if (!strcmp(set->params[i]->name, name)) return set->params[i];
  return NULL;
}

static OfxStatus paramGetHandle(OfxParamSetHandle set, const char *name, OfxParamHandle *param, OfxPropertySetHandle *props) {
  Param *p = find_param((ParamSet *)set, name);
  if (!p) return kOfxStatErrUnknown;
  *param = (OfxParamHandle)p;
  if (props) *props = (OfxPropertySetHandle)&p->props;
  return kOfxStatOK;
}
static OfxStatus paramSetGetPropertySet(OfxParamSetHandle set, OfxPropertySetHandle *props) {
  *props = (OfxPropertySetHandle) & ((ParamSet *)set)->props;
  return kOfxStatOK;
}
static OfxStatus paramGetPropertySet(OfxParamHandle param, OfxPropertySetHandle *props) {
  *props = (OfxPropertySetHandle) & ((Param *)param)->props;
  return kOfxStatOK;
}
static OfxStatus paramGetValue(OfxParamHandle param, ...) {
  va_list args;
  va_start(args, param);
  OfxStatus s = write_value((Param *)param, tls_time, args);
  va_end(args);
  return s;
}
static OfxStatus paramGetValueAtTime(OfxParamHandle param, OfxTime time, ...) {
  va_list args;
  va_start(args, time);
  /* MLT evaluates its animation at the frame being rendered, whatever time is asked for */
  OfxStatus s = write_value((Param *)param, cfg.mlt ? tls_time : time, args);
  va_end(args);
  return s;
}
static OfxStatus paramUnsupported(OfxParamHandle param, OfxTime time, ...) {
  (void)param, (void)time;
  return kOfxStatErrUnsupported;
}
static OfxStatus paramGetIntegral(OfxParamHandle param, OfxTime t1, OfxTime t2, ...) {
  (void)param, (void)t1, (void)t2;
  return kOfxStatErrUnsupported;
}
static OfxStatus paramSetValue(OfxParamHandle param, ...) {
  (void)param;
  return kOfxStatErrUnsupported;
}
static OfxStatus paramGetNumKeys(OfxParamHandle param, unsigned int *n) {
  *n = cfg.mlt ? 0 : (unsigned)((Param *)param)->keys;
  return kOfxStatOK;
}
static OfxStatus paramGetKeyTime(OfxParamHandle param, unsigned int nth, OfxTime *time) {
  Param *p = (Param *)param;
  if (nth >= (unsigned)p->keys) return kOfxStatErrBadIndex;
  *time = p->key_time[nth];
  return kOfxStatOK;
}
static OfxStatus paramGetKeyIndex(OfxParamHandle param, OfxTime time, int direction, int *index) {
  (void)param, (void)time, (void)direction, (void)index;
  return kOfxStatFailed;
}
static OfxStatus paramDeleteKey(OfxParamHandle param, OfxTime time) {
  (void)param, (void)time;
  return kOfxStatErrUnsupported;
}
static OfxStatus paramDeleteAllKeys(OfxParamHandle param) {
  (void)param;
  return kOfxStatErrUnsupported;
}
static OfxStatus paramCopy(OfxParamHandle to, OfxParamHandle from, OfxTime offset, const OfxRangeD *range) {
  (void)to, (void)from, (void)offset, (void)range;
  return kOfxStatErrUnsupported;
}
static OfxStatus paramEditBegin(OfxParamSetHandle set, const char *name) {
  (void)set, (void)name;
  return kOfxStatOK;
}
static OfxStatus paramEditEnd(OfxParamSetHandle set) {
  (void)set;
  return kOfxStatOK;
}

static OfxParameterSuiteV1 g_param_suite = {
    paramDefine,      paramGetHandle,   paramSetGetPropertySet, paramGetPropertySet, paramGetValue,
    paramGetValueAtTime, paramUnsupported, paramGetIntegral,    paramSetValue,       paramUnsupported,
    paramGetNumKeys,  paramGetKeyTime,  paramGetKeyIndex,       paramDeleteKey,      paramDeleteAllKeys,
    paramCopy,        paramEditBegin,   paramEditEnd,
};

/* ------------------------------------------------------------------------------------------ */
/* Image effect suite                                                                          */

static OfxStatus getPropertySet(OfxImageEffectHandle effect, OfxPropertySetHandle *props) {
  *props = (OfxPropertySetHandle) & ((Effect *)effect)->props;
  return kOfxStatOK;
}
static OfxStatus getParamSet(OfxImageEffectHandle effect, OfxParamSetHandle *set) {
  *set = (OfxParamSetHandle) & ((Effect *)effect)->params;
  return kOfxStatOK;
}
static OfxStatus clipDefine(OfxImageEffectHandle handle, const char *name, OfxPropertySetHandle *props) {
  Effect *effect = (Effect *)handle;
  if (effect->nclips >= 4) return kOfxStatErrMemory;
  Clip *clip = calloc(1, sizeof *clip);
  snprintf(clip->name, sizeof clip->name, "%s", name);
  clip->effect = effect;
  set_str(&clip->props, kOfxPropName, name);
  set_str(&clip->props, kOfxPropType, kOfxTypeClip);
  effect->clips[effect->nclips++] = clip;
  *props = (OfxPropertySetHandle)&clip->props;
  return kOfxStatOK;
}
static OfxStatus clipGetHandle(OfxImageEffectHandle handle, const char *name, OfxImageClipHandle *clip, OfxPropertySetHandle *props) {
  Effect *effect = (Effect *)handle;
  for (int i = 0; i < effect->nclips; i++)
    if (!strcmp(effect->clips[i]->name, name)) {
      *clip = (OfxImageClipHandle)effect->clips[i];
      if (props) *props = (OfxPropertySetHandle)&effect->clips[i]->props;
      return kOfxStatOK;
    }
  return kOfxStatErrUnknown;
}
static OfxStatus clipGetPropertySet(OfxImageClipHandle clip, OfxPropertySetHandle *props) {
  *props = (OfxPropertySetHandle) & ((Clip *)clip)->props;
  return kOfxStatOK;
}

static int row_bytes_of(const Frame *frame) {
  return frame->width * frame->channels * frame->bytes_per_component + cfg.padding;
}

/* Wraps memory laid out for `frame` as an OFX image; rows as configured (up or down). */
static Image *make_image(const Frame *frame, unsigned char *memory, int owned) {
  Image *image = calloc(1, sizeof *image);
  image->memory = memory;
  image->owned = owned;
  int rb = row_bytes_of(frame);
  /* up: memory row 0 is the bottom row; down: memory is top-down, pointer at the bottom row */
  unsigned char *data = cfg.rows_down ? memory + (size_t)(frame->height - 1) * rb : memory;
  PropSet *p = &image->props;
  set_str(p, kOfxPropType, kOfxTypeImage);
  propSetPointer((OfxPropertySetHandle)p, kOfxImagePropData, 0, data);
  int bounds[4] = {0, 0, frame->width, frame->height};
  propSetIntN((OfxPropertySetHandle)p, kOfxImagePropBounds, 4, bounds);
  propSetIntN((OfxPropertySetHandle)p, kOfxImagePropRegionOfDefinition, 4, bounds);
  if (!cfg.fault_no_rowbytes) set_int(p, kOfxImagePropRowBytes, cfg.rows_down ? -rb : rb);
  set_str(p, kOfxImageEffectPropPixelDepth, frame->depth);
  set_str(p, kOfxImageEffectPropComponents, components_of(frame->channels));
  set_str(p, kOfxImageEffectPropPreMultiplication, cfg.premultiplied ? kOfxImagePreMultiplied : kOfxImageUnPreMultiplied);
  set_dbl(p, kOfxImageEffectPropRenderScale, 0, cfg.scale);
  set_dbl(p, kOfxImageEffectPropRenderScale, 1, cfg.scale);
  set_dbl(p, kOfxImagePropPixelAspectRatio, 0, 1.0);
  set_str(p, kOfxImagePropField, kOfxImageFieldNone);
  set_str(p, kOfxImagePropUniqueIdentifier, "test-host-image");
  return image;
}

/* Memory row of top-down row y for an image made by make_image. */
static unsigned char *memory_row(const Frame *frame, unsigned char *memory, int y_top) {
  int rb = row_bytes_of(frame);
  int memory_index = cfg.rows_down ? y_top : frame->height - 1 - y_top;
  return memory + (size_t)memory_index * rb;
}

static OfxStatus clipGetImage(OfxImageClipHandle handle, OfxTime time, const OfxRectD *region, OfxPropertySetHandle *out) {
  (void)region;
  Clip *clip = (Clip *)handle;
  if (!strcmp(clip->name, kOfxImageEffectOutputClipName)) {
    if (!tls_output) return kOfxStatFailed;
    *out = (OfxPropertySetHandle)&tls_output->props;
    return kOfxStatOK;
  }
  /* MLT hands the current frame whatever time is asked for */
  int t = (int)lround(cfg.mlt ? tls_time : time);
  Frame *frame = frame_at(t);
  if (!frame) return kOfxStatFailed;
  int rb = row_bytes_of(frame);
  unsigned char *memory = calloc((size_t)frame->height, (size_t)rb);
  size_t packed = (size_t)frame->width * frame->channels * frame->bytes_per_component;
  for (int y = 0; y < frame->height; y++) memcpy(memory_row(frame, memory, y), frame->pixels + y * packed, packed);
  *out = (OfxPropertySetHandle)&make_image(frame, memory, 1)->props;
  return kOfxStatOK;
}

static OfxStatus clipReleaseImage(OfxPropertySetHandle handle) {
  Image *image = (Image *)handle;
  if (!image || image == tls_output) return kOfxStatOK;
  if (image->owned) free(image->memory);
  free_props(&image->props);
  free(image);
  return kOfxStatOK;
}

static OfxStatus clipGetRegionOfDefinition(OfxImageClipHandle clip, OfxTime time, OfxRectD *rect) {
  (void)clip;
  Frame *frame = frame_at((int)lround(cfg.mlt ? tls_time : time));
  if (!frame) frame = frame_at(cfg.first);
  if (!frame) return kOfxStatFailed;
  rect->x1 = rect->y1 = 0;
  rect->x2 = frame->width / cfg.scale;
  rect->y2 = frame->height / cfg.scale;
  return kOfxStatOK;
}

static int effect_abort(OfxImageEffectHandle effect) {
  (void)effect;
  return 0;
}
static OfxStatus imageMemoryAlloc(OfxImageEffectHandle effect, size_t n, OfxImageMemoryHandle *memory) {
  (void)effect;
  *memory = (OfxImageMemoryHandle)malloc(n);
  return *memory ? kOfxStatOK : kOfxStatErrMemory;
}
static OfxStatus imageMemoryFree(OfxImageMemoryHandle memory) {
  free(memory);
  return kOfxStatOK;
}
static OfxStatus imageMemoryLock(OfxImageMemoryHandle memory, void **ptr) {
  *ptr = memory;
  return kOfxStatOK;
}
static OfxStatus imageMemoryUnlock(OfxImageMemoryHandle memory) {
  (void)memory;
  return kOfxStatOK;
}

static OfxImageEffectSuiteV1 g_effect_suite = {
    getPropertySet,    getParamSet,      clipDefine,      clipGetHandle,   clipGetPropertySet,
    clipGetImage,      clipReleaseImage, clipGetRegionOfDefinition, effect_abort, imageMemoryAlloc,
    imageMemoryFree,   imageMemoryLock,  imageMemoryUnlock,
};

/* ------------------------------------------------------------------------------------------ */
/* Memory, multithread and message suites                                                      */

static OfxStatus memoryAlloc(void *handle, size_t n, void **data) {
  (void)handle;
  *data = malloc(n);
  return *data ? kOfxStatOK : kOfxStatErrMemory;
}
static OfxStatus memoryFree(void *data) {
  free(data);
  return kOfxStatOK;
}
static OfxMemorySuiteV1 g_memory_suite = {memoryAlloc, memoryFree};

typedef struct SpawnArgs {
  OfxThreadFunctionV1 *func;
  unsigned int index, count;
  void *arg;
} SpawnArgs;

static void *spawned(void *raw) {
  SpawnArgs *a = raw;
  tls_thread_index = a->index;
  tls_spawned = 1;
  a->func(a->index, a->count, a->arg);
  return NULL;
}
static OfxStatus multiThread(OfxThreadFunctionV1 func, unsigned int n, void *arg) {
  if (n == 0) n = 1;
  pthread_t threads[64];
  SpawnArgs args[64];
  if (n > 64) n = 64;
  for (unsigned int i = 0; i < n; i++) {
    args[i] = (SpawnArgs){func, i, n, arg};
    pthread_create(&threads[i], NULL, spawned, &args[i]);
  }
  for (unsigned int i = 0; i < n; i++) pthread_join(threads[i], NULL);
  return kOfxStatOK;
}
static OfxStatus multiThreadNumCPUs(unsigned int *n) {
  *n = 4;
  return kOfxStatOK;
}
static OfxStatus multiThreadIndex(unsigned int *index) {
  *index = tls_thread_index;
  return kOfxStatOK;
}
static int multiThreadIsSpawnedThread(void) { return tls_spawned; }
static OfxStatus mutexCreate(OfxMutexHandle *mutex, int count) {
  (void)count;
  pthread_mutex_t *m = malloc(sizeof *m);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(m, &attr);
  *mutex = (OfxMutexHandle)m;
  return kOfxStatOK;
}
static OfxStatus mutexDestroy(const OfxMutexHandle m) {
  pthread_mutex_destroy((pthread_mutex_t *)m);
  free(m);
  return kOfxStatOK;
}
static OfxStatus mutexLock(const OfxMutexHandle m) { return pthread_mutex_lock((pthread_mutex_t *)m) ? kOfxStatFailed : kOfxStatOK; }
static OfxStatus mutexUnLock(const OfxMutexHandle m) { return pthread_mutex_unlock((pthread_mutex_t *)m) ? kOfxStatFailed : kOfxStatOK; }
static OfxStatus mutexTryLock(const OfxMutexHandle m) { return pthread_mutex_trylock((pthread_mutex_t *)m) ? kOfxStatFailed : kOfxStatOK; }
static OfxMultiThreadSuiteV1 g_thread_suite = {
    multiThread, multiThreadNumCPUs, multiThreadIndex, multiThreadIsSpawnedThread, mutexCreate,
    mutexDestroy, mutexLock, mutexUnLock, mutexTryLock,
};

static void print_message(const char *kind, const char *type, const char *format, va_list args) {
  char text[4096];
  vsnprintf(text, sizeof text, format, args);
  for (char *c = text; *c; c++)
    if (*c == '\n') *c = ' ';
  say("%s %s %s", kind, type, text);
}
static OfxStatus message(void *handle, const char *type, const char *id, const char *format, ...) {
  (void)handle, (void)id;
  va_list args;
  va_start(args, format);
  print_message("MESSAGE", type, format, args);
  va_end(args);
  return kOfxStatOK;
}
static OfxStatus setPersistentMessage(void *handle, const char *type, const char *id, const char *format, ...) {
  (void)handle, (void)id;
  va_list args;
  va_start(args, format);
  print_message("MESSAGE", type, format, args);
  va_end(args);
  return kOfxStatOK;
}
static OfxStatus clearPersistentMessage(void *handle) {
  (void)handle;
  return kOfxStatOK;
}
static OfxMessageSuiteV2 g_message_suite = {message, setPersistentMessage, clearPersistentMessage};

static const void *fetchSuite(OfxPropertySetHandle host, const char *name, int version) {
  (void)host;
  if (!strcmp(name, kOfxPropertySuite) && version == 1) return &g_property_suite;
  if (!strcmp(name, kOfxImageEffectSuite) && version == 1) return &g_effect_suite;
  if (!strcmp(name, kOfxParameterSuite) && version == 1) return &g_param_suite;
  if (!strcmp(name, kOfxMemorySuite) && version == 1) return &g_memory_suite;
  if (!strcmp(name, kOfxMultiThreadSuite) && version == 1) return &g_thread_suite;
  if (!strcmp(name, kOfxMessageSuite) && (version == 1 || version == 2)) return &g_message_suite;
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Driving the plug-in                                                                         */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static OfxStatus action(const char *name, void *handle, PropSet *in, PropSet *out) {
  return g_plugin->mainEntry(name, handle, (OfxPropertySetHandle)in, (OfxPropertySetHandle)out);
}

static void setup_host_props(void) {
  PropSet *h = &g_host_props;
  set_str(h, kOfxPropType, kOfxTypeImageEffectHost);
  set_str(h, kOfxPropName, cfg.mlt ? "org.mltframework.test" : "org.colormotion.testhost");
  set_str(h, kOfxPropLabel, cfg.mlt ? "MLT-like test host" : "Natron-like test host");
  set_int(h, kOfxImageEffectPropTemporalClipAccess, cfg.mlt ? 0 : 1);
  set_int(h, kOfxImageEffectPropSupportsMultiResolution, cfg.mlt ? 0 : 1);
  set_int(h, kOfxImageEffectPropSupportsTiles, cfg.mlt ? 0 : 1);
  set_int(h, kOfxImageEffectPropSupportsMultipleClipDepths, 0);
  const char *contexts[] = {kOfxImageEffectContextFilter, kOfxImageEffectContextGeneral};
  propSetStringN((OfxPropertySetHandle)h, kOfxImageEffectPropSupportedContexts, 2, contexts);
  g_host.host = (OfxPropertySetHandle)h;
  g_host.fetchSuite = fetchSuite;
}

static Effect *new_effect(const char *type) {
  Effect *effect = calloc(1, sizeof *effect);
  set_str(&effect->props, kOfxPropType, type);
  set_str(&effect->props, kOfxImageEffectPropContext, cfg.context);
  return effect;
}

/* An instance built from the descriptor: the same parameters (defaults as values) and clips. */
static Effect *create_instance(Effect *descriptor) {
  Effect *effect = new_effect(kOfxTypeImageEffectInstance);
  Frame *frame = frame_at(cfg.first);
  static Frame no_frame = {1, 1, 4, 1, kOfxBitDepthByte, NULL};
  if (!frame) frame = &no_frame;
  PropSet *p = &effect->props;
  set_dbl(p, kOfxImageEffectPropProjectSize, 0, frame->width / cfg.scale);
  set_dbl(p, kOfxImageEffectPropProjectSize, 1, frame->height / cfg.scale);
  set_dbl(p, kOfxImageEffectPropProjectOffset, 0, 0);
  set_dbl(p, kOfxImageEffectPropProjectOffset, 1, 0);
  set_dbl(p, kOfxImageEffectPropProjectPixelAspectRatio, 0, 1.0);
  set_dbl(p, kOfxImageEffectPropFrameRange, 0, cfg.first);
  set_dbl(p, kOfxImageEffectPropFrameRange, 1, cfg.last);
  set_dbl(p, kOfxImageEffectPropFrameRate, 0, 25.0);
  set_int(p, kOfxPropIsInteractive, 0);
  for (int i = 0; i < descriptor->params.n; i++) {
    Param *d = descriptor->params.params[i];
    Param *q = calloc(1, sizeof *q);
    memcpy(q->name, d->name, sizeof q->name);
    memcpy(q->type, d->type, sizeof q->type);
    q->dims = d->dims;
    for (int j = 0; j < d->props.n; j++) {
      Prop *src = &d->props.props[j];
      for (int k = 0; k < src->n; k++) {
        if (src->type == P_STRING) propSetString((OfxPropertySetHandle)&q->props, src->name, k, src->strings[k]);
        else if (src->type == P_INT) propSetInt((OfxPropertySetHandle)&q->props, src->name, k, src->ints[k]);
        else if (src->type == P_DOUBLE) propSetDouble((OfxPropertySetHandle)&q->props, src->name, k, src->doubles[k]);
        else propSetPointer((OfxPropertySetHandle)&q->props, src->name, k, src->pointers[k]);
      }
    }
    Prop *def = find_prop(&q->props, kOfxParamPropDefault);
    if (def && !strcmp(q->type, kOfxParamTypeString)) q->string = strdup(def->strings[0] ? def->strings[0] : "");
    else if (def)
      for (int k = 0; k < def->n && k < 4; k++) q->value[k] = def->type == P_INT ? def->ints[k] : def->doubles[k];
    /* a normalised default is scaled to the project, as Nuke, Natron and MLT do */
    Prop *coords = find_prop(&q->props, kOfxParamPropDefaultCoordinateSystem);
    if (def && coords && coords->strings[0] && !strcmp(coords->strings[0], kOfxParamCoordinatesNormalised) &&
        !strcmp(q->type, kOfxParamTypeDouble2D) && !cfg.unscaled_defaults) {
      q->value[0] *= frame->width / cfg.scale;
      q->value[1] *= frame->height / cfg.scale;
    }
    effect->params.params[effect->params.n++] = q;
  }
  for (int i = 0; i < descriptor->nclips; i++) {
    Clip *clip = calloc(1, sizeof *clip);
    memcpy(clip->name, descriptor->clips[i]->name, sizeof clip->name);
    clip->effect = effect;
    PropSet *c = &clip->props;
    set_str(c, kOfxPropName, clip->name);
    set_str(c, kOfxPropType, kOfxTypeClip);
    set_str(c, kOfxImageEffectPropPixelDepth, frame->depth);
    set_str(c, kOfxImageEffectPropComponents, components_of(frame->channels));
    set_str(c, kOfxImageEffectPropPreMultiplication, cfg.premultiplied ? kOfxImagePreMultiplied : kOfxImageUnPreMultiplied);
    /* optional inputs (the General context's Reference) stay unconnected unless asked for */
    Prop *optional = find_prop(&descriptor->clips[i]->props, kOfxImageClipPropOptional);
    set_int(c, kOfxImageClipPropConnected, !(optional && optional->ints[0]) || cfg.connect_optional);
    set_dbl(c, kOfxImageEffectPropFrameRange, 0, cfg.first);
    set_dbl(c, kOfxImageEffectPropFrameRange, 1, cfg.last);
    set_dbl(c, kOfxImageEffectPropUnmappedFrameRange, 0, cfg.first);
    set_dbl(c, kOfxImageEffectPropUnmappedFrameRange, 1, cfg.last);
    set_dbl(c, kOfxImagePropPixelAspectRatio, 0, 1.0);
    effect->clips[effect->nclips++] = clip;
  }
  return effect;
}

static void free_effect(Effect *effect) {
  for (int i = 0; i < effect->params.n; i++) {
    free_props(&effect->params.params[i]->props);
    free(effect->params.params[i]->string);
    free(effect->params.params[i]);
  }
  for (int i = 0; i < effect->nclips; i++) {
    free_props(&effect->clips[i]->props);
    free(effect->clips[i]);
  }
  free_props(&effect->params.props);
  free_props(&effect->props);
  free(effect);
}

/* Applies one "set"/"key" line; a Choice takes its option label, as MLT does. */
static void apply_setting(Effect *effect, const char *line) {
  char verb[8], name[64];
  int used = 0;
  if (sscanf(line, "%7s %63s %n", verb, name, &used) < 2) return;
  Param *p = find_param(&effect->params, name);
  if (!p) {
    say("WARNING unknown parameter %s", name);
    return;
  }
  const char *rest = line + used;
  double key_time = 0;
  if (!strcmp(verb, "key")) {
    int more = 0;
    sscanf(rest, "%lf %n", &key_time, &more);
    rest += more;
  }
  if (!strcmp(p->type, kOfxParamTypeString)) {
    free(p->string);
    p->string = strdup(rest);
    return;
  }
  double values[4] = {0, 0, 0, 0};
  if (!strcmp(p->type, kOfxParamTypeChoice)) {
    Prop *options = find_prop(&p->props, kOfxParamPropChoiceOption);
    int found = -1;
    for (int k = 0; options && k < options->n; k++)
      if (options->strings[k] && !strcmp(options->strings[k], rest)) found = k;
    if (found < 0) {
      say("WARNING choice %s has no option '%s': default kept", name, rest);
      return;
    }
    values[0] = found;
  } else {
    sscanf(rest, "%lf %lf %lf %lf", &values[0], &values[1], &values[2], &values[3]);
  }
  if (!strcmp(verb, "key")) {
    if (p->keys >= MAXKEYS) return;
    int at = p->keys;
    while (at > 0 && p->key_time[at - 1] > key_time) {
      p->key_time[at] = p->key_time[at - 1];
      memcpy(p->key_value[at], p->key_value[at - 1], sizeof values);
      at--;
    }
    p->key_time[at] = key_time;
    memcpy(p->key_value[at], values, sizeof values);
    p->keys++;
  } else {
    memcpy(p->value, values, sizeof values);
  }
}

static void write_output(int t, const Frame *frame, Image *image) {
  char path[4200];
  snprintf(path, sizeof path, "%s/out_%05d.npy", cfg.output, t);
  FILE *file = fopen(path, "wb");
  if (!file) return;
  char header[256];
  int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                   npy_descr(frame->depth), frame->height, frame->width, frame->channels);
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  unsigned short length = (unsigned short)(n + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, file);
  fwrite(&length, 2, 1, file);
  fwrite(header, 1, (size_t)n, file);
  for (int i = 0; i < pad; i++) fputc(' ', file);
  fputc('\n', file);
  size_t packed = (size_t)frame->width * frame->channels * frame->bytes_per_component;
  for (int y = 0; y < frame->height; y++) fwrite(memory_row(frame, image->memory, y), 1, packed, file);
  fclose(file);
}

/* One line per property: "<KIND> <owner> <property> <values...>" (for the tests to inspect). */
static void dump_props(const char *kind, const char *owner, PropSet *set) {
  for (int i = 0; i < set->n; i++) {
    Prop *p = &set->props[i];
    char line[2048] = "";
    for (int k = 0; k < p->n; k++) {
      size_t used = strlen(line);
      if (p->type == P_INT) snprintf(line + used, sizeof line - used, " %d", p->ints[k]);
      else if (p->type == P_DOUBLE) snprintf(line + used, sizeof line - used, " %g", p->doubles[k]);
      else if (p->type == P_STRING) snprintf(line + used, sizeof line - used, " %s", p->strings[k] ? p->strings[k] : "");
    }
    say("%s %s %s%s", kind, owner, p->name, line);
  }
}

static Effect *g_descriptor;
static Effect *g_shared_instance;
static int g_next_job;
static pthread_mutex_t g_job_mutex = PTHREAD_MUTEX_INITIALIZER;

static Effect *instance_for_frame(void) {
  Effect *effect = create_instance(g_descriptor);
  for (int i = 0; i < cfg.nsettings; i++) apply_setting(effect, cfg.settings[i]);
  OfxStatus s = action(kOfxActionCreateInstance, effect, NULL, NULL);
  if (s != kOfxStatOK) say("STATUS %s %d", kOfxActionCreateInstance, s);
  return effect;
}

static void frames_needed(Effect *effect, int t) {
  PropSet in = {0}, out = {0};
  set_dbl(&in, kOfxPropTime, 0, t);
  OfxStatus s = action(kOfxImageEffectActionGetFramesNeeded, effect, &in, &out);
  char line[512] = "";
  Prop *range = find_prop(&out, "OfxImageClipPropFrameRange_Source");
  for (int i = 0; range && i < range->n; i++)
    snprintf(line + strlen(line), sizeof line - strlen(line), " %g", range->doubles[i]);
  say("FRAMES %d %d%s", t, s, line);
  free_props(&in);
  free_props(&out);
}

static void render_one(int t) {
  tls_time = t;
  Effect *effect = g_shared_instance ? g_shared_instance : instance_for_frame();
  Frame *frame = frame_at(t);
  if (!frame) {
    say("RENDER %d %d 0", t, kOfxStatFailed);
    return;
  }
  if (!cfg.mlt) frames_needed(effect, t);
  int rb = row_bytes_of(frame);
  unsigned char *memory = malloc((size_t)frame->height * rb);
  memset(memory, 0x11, (size_t)frame->height * rb); /* sentinel: outside the window stays 0x11 */
  Image *output = make_image(frame, memory, 1);
  tls_output = output;
  PropSet in = {0};
  set_dbl(&in, kOfxPropTime, 0, t);
  int window[4] = {0, 0, frame->width, frame->height};
  if (cfg.have_window) memcpy(window, cfg.window, sizeof window);
  propSetIntN((OfxPropertySetHandle)&in, kOfxImageEffectPropRenderWindow, 4, window);
  set_dbl(&in, kOfxImageEffectPropRenderScale, 0, cfg.scale);
  set_dbl(&in, kOfxImageEffectPropRenderScale, 1, cfg.scale);
  set_str(&in, kOfxImageEffectPropFieldToRender, kOfxImageFieldNone);
  set_int(&in, kOfxImageEffectPropSequentialRenderStatus, cfg.mlt ? 1 : 0);
  PropSet seq = {0};
  set_dbl(&seq, kOfxImageEffectPropFrameRange, 0, t);
  set_dbl(&seq, kOfxImageEffectPropFrameRange, 1, t);
  set_dbl(&seq, kOfxImageEffectPropRenderScale, 0, cfg.scale);
  set_dbl(&seq, kOfxImageEffectPropRenderScale, 1, cfg.scale);
  if (cfg.mlt) action(kOfxImageEffectActionBeginSequenceRender, effect, &seq, NULL);
  double begin = now_ms();
  OfxStatus s = action(kOfxImageEffectActionRender, effect, &in, NULL);
  double elapsed = now_ms() - begin;
  if (cfg.mlt) action(kOfxImageEffectActionEndSequenceRender, effect, &seq, NULL);
  say("RENDER %d %d %.3f", t, s, elapsed);
  if (s == kOfxStatOK) write_output(t, frame, output);
  if (cfg.purge) say("STATUS %s %d", kOfxActionPurgeCaches, action(kOfxActionPurgeCaches, effect, NULL, NULL));
  tls_output = NULL;
  free(memory);
  free_props(&output->props);
  free(output);
  free_props(&in);
  free_props(&seq);
  if (!g_shared_instance) {
    action(kOfxActionDestroyInstance, effect, NULL, NULL);
    free_effect(effect);
  }
}

static void *render_worker(void *unused) {
  (void)unused;
  for (;;) {
    pthread_mutex_lock(&g_job_mutex);
    int job = g_next_job++;
    pthread_mutex_unlock(&g_job_mutex);
    if (job >= cfg.nrender) return NULL;
    render_one(cfg.render_times[job]);
  }
}

/* A user edit of one parameter, wrapped as hosts do in Begin/EndInstanceChanged. */
static void instance_changed(Effect *effect, const char *name) {
  PropSet begin = {0}, in = {0};
  set_str(&begin, kOfxPropChangeReason, "OfxChangeUserEdited");
  set_str(&in, kOfxPropType, kOfxTypeParameter);
  set_str(&in, kOfxPropName, name);
  set_str(&in, kOfxPropChangeReason, "OfxChangeUserEdited");
  set_dbl(&in, kOfxPropTime, 0, cfg.first);
  set_dbl(&in, kOfxImageEffectPropRenderScale, 0, cfg.scale);
  set_dbl(&in, kOfxImageEffectPropRenderScale, 1, cfg.scale);
  action(kOfxActionBeginInstanceChanged, effect, &begin, NULL);
  say("STATUS %s %d", kOfxActionInstanceChanged, action(kOfxActionInstanceChanged, effect, &in, NULL));
  action(kOfxActionEndInstanceChanged, effect, &begin, NULL);
  free_props(&begin);
  free_props(&in);
}

/* Cost of one trip host -> C loader -> Python and back: an action Python ignores (IsIdentity
 * answers ReplyDefault at once) and one that sets a property (GetClipPreferences). */
static void bench_actions(Effect *effect, int n) {
  PropSet in = {0};
  set_dbl(&in, kOfxPropTime, 0, cfg.first);
  double begin = now_ms();
  for (int i = 0; i < n; i++) action(kOfxImageEffectActionIsIdentity, effect, &in, NULL);
  say("TIME action_noop_us %.3f", 1e3 * (now_ms() - begin) / n);
  begin = now_ms();
  for (int i = 0; i < n; i++) {
    PropSet out = {0};
    action(kOfxImageEffectActionGetClipPreferences, effect, NULL, &out);
    free_props(&out);
  }
  say("TIME action_clip_preferences_us %.3f", 1e3 * (now_ms() - begin) / n);
  free_props(&in);
}

static int start_python(const char *library) {
  void *lib = dlopen(library, RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    say("HOST cannot load %s: %s", library, dlerror());
    return 0;
  }
  void (*initialize)(int) = (void (*)(int))dlsym(lib, "Py_InitializeEx");
  void *(*save_thread)(void) = (void *(*)(void))dlsym(lib, "PyEval_SaveThread");
  const char *(*version)(void) = (const char *(*)(void))dlsym(lib, "Py_GetVersion");
  initialize(0);
  save_thread();
  say("HOST runs Python %.4s", version());
  return 1;
}

static int read_script(const char *path) {
  FILE *file = fopen(path, "r");
  if (!file) return 0;
  cfg.scale = 1.0;
  cfg.threads = 1;
  cfg.cycles = 1;
  cfg.context = kOfxImageEffectContextFilter;
  char line[8192];
  while (fgets(line, sizeof line, file)) {
    line[strcspn(line, "\r\n")] = '\0';
    char word[32] = "";
    int used = 0;
    if (sscanf(line, "%31s %n", word, &used) < 1 || word[0] == '#') continue;
    const char *rest = line + used;
    if (!strcmp(word, "plugin")) snprintf(cfg.plugin, sizeof cfg.plugin, "%s", rest);
    else if (!strcmp(word, "mode")) cfg.mlt = !strcmp(rest, "mlt");
    else if (!strcmp(word, "input")) {
      char dir[4096];
      sscanf(rest, "%4095s %d %d", dir, &cfg.first, &cfg.last);
      snprintf(cfg.input, sizeof cfg.input, "%s", dir);
    } else if (!strcmp(word, "output")) snprintf(cfg.output, sizeof cfg.output, "%s", rest);
    else if (!strcmp(word, "context"))
      cfg.context = !strcmp(rest, "general") ? kOfxImageEffectContextGeneral : kOfxImageEffectContextFilter;
    else if (!strcmp(word, "rows")) cfg.rows_down = !strcmp(rest, "down");
    else if (!strcmp(word, "padding")) cfg.padding = atoi(rest);
    else if (!strcmp(word, "scale")) cfg.scale = atof(rest);
    else if (!strcmp(word, "threads")) cfg.threads = atoi(rest);
    else if (!strcmp(word, "python")) snprintf(cfg.python, sizeof cfg.python, "%s", rest);
    else if (!strcmp(word, "fault")) cfg.fault_no_rowbytes = !strcmp(rest, "no_rowbytes");
    else if (!strcmp(word, "bench_actions")) cfg.bench_actions = atoi(rest);
    else if (!strcmp(word, "premultiplied")) cfg.premultiplied = 1;
    else if (!strcmp(word, "purge")) cfg.purge = 1;
    else if (!strcmp(word, "unscaled_defaults")) cfg.unscaled_defaults = 1;
    else if (!strcmp(word, "connect_optional")) cfg.connect_optional = 1;
    else if (!strcmp(word, "cycles")) cfg.cycles = atoi(rest);
    else if (!strcmp(word, "changed")) snprintf(cfg.changed, sizeof cfg.changed, "%s", rest);
    else if (!strcmp(word, "stop_after")) {
      cfg.stop_after_load = !strcmp(rest, "load");
      cfg.stop_after_describe = !strcmp(rest, "describe");
    }
    else if (!strcmp(word, "window")) {
      cfg.have_window = sscanf(rest, "%d %d %d %d", &cfg.window[0], &cfg.window[1], &cfg.window[2], &cfg.window[3]) == 4;
    } else if (!strcmp(word, "set") || !strcmp(word, "key")) {
      if (cfg.nsettings < MAXSETTINGS) cfg.settings[cfg.nsettings++] = strdup(line);
    } else if (!strcmp(word, "render")) {
      int t, more;
      while (cfg.nrender < MAXFRAMES && sscanf(rest, "%d%n", &t, &more) == 1) {
        cfg.render_times[cfg.nrender++] = t;
        rest += more;
      }
    } else {
      say("HOST unknown script line: %s", line);
    }
  }
  fclose(file);
  return 1;
}

/* One host session: load the binary, Load, Describe, render, Unload, dlclose. */
static int run_cycle(void) {
  double begin = now_ms();
  void *library = dlopen(cfg.plugin, RTLD_NOW | RTLD_LOCAL); /* as hosts do */
  if (!library) {
    say("HOST cannot load plug-in: %s", dlerror());
    return 3;
  }
  int (*count)(void) = (int (*)(void))dlsym(library, "OfxGetNumberOfPlugins");
  OfxPlugin *(*get)(int) = (OfxPlugin * (*)(int)) dlsym(library, "OfxGetPlugin");
  OfxStatus (*set_host)(const OfxHost *) = (OfxStatus(*)(const OfxHost *))dlsym(library, "OfxSetHost");
  if (!count || !get || count() < 1) {
    say("HOST not an OpenFX plug-in");
    return 3;
  }
  if (set_host) set_host(&g_host);
  g_plugin = get(0);
  say("PLUGIN %s %s %d.%d", g_plugin->pluginApi, g_plugin->pluginIdentifier, g_plugin->pluginVersionMajor,
      g_plugin->pluginVersionMinor);
  g_plugin->setHost(&g_host);
  OfxStatus s = action(kOfxActionLoad, NULL, NULL, NULL);
  say("STATUS %s %d", kOfxActionLoad, s);
  say("TIME load %.3f", now_ms() - begin);
  say("HOST python_loaded %d", dlsym(RTLD_DEFAULT, "Py_IsInitialized") != NULL);
  if (s != kOfxStatOK) goto close;
  if (cfg.stop_after_load) goto unload;

  begin = now_ms();
  g_descriptor = new_effect(kOfxTypeImageEffect);
  s = action(kOfxActionDescribe, g_descriptor, NULL, NULL);
  say("STATUS %s %d", kOfxActionDescribe, s);
  say("TIME describe %.3f", now_ms() - begin);
  if (s != kOfxStatOK) goto unload;
  begin = now_ms();
  PropSet in = {0};
  set_str(&in, kOfxImageEffectPropContext, cfg.context);
  s = action(kOfxImageEffectActionDescribeInContext, g_descriptor, &in, NULL);
  free_props(&in);
  say("STATUS %s %d", kOfxImageEffectActionDescribeInContext, s);
  say("HOST python_loaded_after_describe %d", dlsym(RTLD_DEFAULT, "Py_IsInitialized") != NULL);
  say("TIME describe_in_context %.3f", now_ms() - begin);
  if (s != kOfxStatOK) goto unload;
  for (int i = 0; i < g_descriptor->params.n; i++) {
    Param *p = g_descriptor->params.params[i];
    say("PARAM %s %s", p->name, p->type);
    dump_props("PARAMPROP", p->name, &p->props);
  }
  dump_props("EFFECTPROP", "descriptor", &g_descriptor->props);
  for (int i = 0; i < g_descriptor->nclips; i++)
    dump_props("CLIPPROP", g_descriptor->clips[i]->name, &g_descriptor->clips[i]->props);
  if (cfg.stop_after_describe) goto unload;

  if (!cfg.mlt) { /* Natron/Resolve: one instance renders every frame */
    g_shared_instance = instance_for_frame();
    PropSet out = {0};
    s = action(kOfxImageEffectActionGetClipPreferences, g_shared_instance, NULL, &out);
    say("STATUS %s %d", kOfxImageEffectActionGetClipPreferences, s);
    free_props(&out);
    if (cfg.bench_actions > 0) bench_actions(g_shared_instance, cfg.bench_actions);
    if (cfg.changed[0]) instance_changed(g_shared_instance, cfg.changed);
  }
  begin = now_ms();
  pthread_t threads[16];
  int nthreads = cfg.threads < 1 ? 1 : cfg.threads > 16 ? 16 : cfg.threads;
  for (int i = 0; i < nthreads; i++) pthread_create(&threads[i], NULL, render_worker, NULL);
  for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
  say("TIME renders %.3f", now_ms() - begin);
  if (g_shared_instance) {
    s = action(kOfxActionDestroyInstance, g_shared_instance, NULL, NULL);
    say("STATUS %s %d", kOfxActionDestroyInstance, s);
    free_effect(g_shared_instance);
  }
unload:
  s = action(kOfxActionUnload, NULL, NULL, NULL);
  say("STATUS %s %d", kOfxActionUnload, s);
close:
  dlclose(library);
  g_shared_instance = NULL;
  g_next_job = 0;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2 || !read_script(argv[1])) {
    fprintf(stderr, "usage: %s SCRIPT\n", argv[0]);
    return 2;
  }
  if (cfg.last - cfg.first + 1 > MAXFRAMES) return 2;
  for (int t = cfg.first; cfg.input[0] && t <= cfg.last; t++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/in_%05d.npy", cfg.input, t);
    if (!load_npy(path, &cfg.frames[t - cfg.first])) {
      fprintf(stderr, "cannot read frame %s\n", path);
      return 2;
    }
  }
  if (cfg.python[0] && !start_python(cfg.python)) return 2;
  setup_host_props();

  for (int cycle = 0; cycle < cfg.cycles; cycle++) {
    int code = run_cycle();
    if (code) return code;
  }
  say("HOST DONE");
  return 0;
}
