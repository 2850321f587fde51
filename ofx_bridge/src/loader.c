/*
 * ColorMotion OpenFX loader.
 *
 * A small shared library with no link to libpython. Discovery (OfxGetNumberOfPlugins,
 * OfxGetPlugin, OfxSetHost), Load, Describe and DescribeInContext are answered here in C (the
 * description was recorded at build time), so a host that only scans plug-ins pays nothing. The first action that needs Python loads libpython with
 * RTLD_GLOBAL (hosts dlopen plug-ins RTLD_LOCAL; numpy, cffi and onnxruntime need the Py*
 * symbols to be global), starts an isolated interpreter on the environment the bundle was built
 * against (or joins the host's interpreter when it is the same Python minor version), imports
 * colormotion_ofx from Contents/Resources/python and from then on hands every action to
 * colormotion_ofx.entry's dispatcher. Python errors never cross into the host: every path
 * returns an OFX status, and failures reach the user through the message suite and the log.
 *
 * Python.h is included for types, struct layouts and the version the bundle is built for only;
 * every Python function is looked up with dlsym (see PY_FUNCTIONS), never linked.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ofxCore.h"
#include "ofxImageEffect.h"
#include "ofxMessage.h"
#include "ofxProperty.h"

#define EXPORT __attribute__((visibility("default")))

#ifndef COLORMOTION_PLUGIN_ID
#define COLORMOTION_PLUGIN_ID "org.colormotion.Colorize"
#endif
#ifndef COLORMOTION_VERSION_MAJOR
#define COLORMOTION_VERSION_MAJOR 0
#endif
#ifndef COLORMOTION_VERSION_MINOR
#define COLORMOTION_VERSION_MINOR 1
#endif

#define CONFIG_FILE_NAME "colormotion_ofx.json"
#define DESCRIPTION_FILE_NAME "description.tsv"
#define ENTRY_MODULE "colormotion_ofx.entry"

/* ------------------------------------------------------------------------------------------ */
/* Python C API, resolved at run time                                                          */

#define PY_FUNCTIONS(X)                                                                         \
  X(Py_IsInitialized)                                                                          \
  X(Py_GetVersion)                                                                             \
  X(PyConfig_InitIsolatedConfig)                                                               \
  X(PyConfig_SetBytesString)                                                                   \
  X(PyConfig_Clear)                                                                            \
  X(Py_InitializeFromConfig)                                                                   \
  X(PyStatus_Exception)                                                                        \
  X(PyEval_SaveThread)                                                                         \
  X(PyGILState_Ensure)                                                                         \
  X(PyGILState_Release)                                                                        \
  X(PyImport_ImportModule)                                                                     \
  X(PyObject_GetAttrString)                                                                    \
  X(PyObject_CallFunction)                                                                     \
  X(PyObject_Str)                                                                              \
  X(PyLong_AsLong)                                                                             \
  X(PyUnicode_FromString)                                                                      \
  X(PyUnicode_AsUTF8)                                                                          \
  X(PyList_Insert)                                                                             \
  X(PyErr_Occurred)                                                                            \
  X(PyErr_Fetch)                                                                               \
  X(PyErr_Clear)                                                                               \
  X(Py_DecRef)

static struct {
#define DECLARE_POINTER(name) __typeof__(&name) name;
  PY_FUNCTIONS(DECLARE_POINTER)
#undef DECLARE_POINTER
} py;

enum { PY_UNTRIED = 0, PY_READY, PY_FAILED };

static OfxHost *g_host;
static int g_py_state = PY_UNTRIED;
static char g_py_error[2048];
static PyObject *g_dispatch; /* colormotion_ofx.entry dispatcher, owned */
static pthread_mutex_t g_init_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_log_mutex = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------------------------ */
/* Log file and host messages                                                                  */

static void log_path(char *out, size_t size) {
  const char *explicit_path = getenv("COLORMOTION_OFX_LOG");
  if (explicit_path && *explicit_path) {
    snprintf(out, size, "%s", explicit_path);
    return;
  }
  const char *cache = getenv("XDG_CACHE_HOME");
  char base[PATH_MAX];
  if (cache && *cache)
    snprintf(base, sizeof base, "%s/colormotion", cache);
  else
    snprintf(base, sizeof base, "%s/.cache/colormotion", getenv("HOME") ? getenv("HOME") : "/tmp");
  /* mkdir -p of the two levels we may need; failures only mean no log file */
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", base);
  char *slash = strrchr(parent, '/');
  if (slash) {
    *slash = '\0';
    mkdir(parent, 0755);
  }
  mkdir(base, 0755);
  snprintf(out, size, "%s/ofx.log", base);
}

static void log_line(const char *format, ...) {
  char path[PATH_MAX];
  log_path(path, sizeof path);
  pthread_mutex_lock(&g_log_mutex);
  FILE *file = fopen(path, "a");
  if (file) {
    time_t now = time(NULL);
    struct tm local;
    char stamp[32];
    localtime_r(&now, &local);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
    fprintf(file, "%s loader: ", stamp);
    va_list args;
    va_start(args, format);
    vfprintf(file, format, args);
    va_end(args);
    fputc('\n', file);
    fclose(file);
  }
  pthread_mutex_unlock(&g_log_mutex);
}

/* Shows an error in the host (message suite) and records it in the log. */
static void report_error(const void *handle, const char *text) {
  log_line("error: %s", text);
  if (!g_host || !g_host->fetchSuite) return;
  const OfxMessageSuiteV1 *messages = g_host->fetchSuite(g_host->host, kOfxMessageSuite, 1);
  if (messages && messages->message)
    messages->message((void *)handle, kOfxMessageError, "colormotion.python", "%s", text);
}

/* ------------------------------------------------------------------------------------------ */
/* Bundle resources                                                                            */

/* Contents/Resources of the bundle holding this binary (…/Contents/Linux-x86-64/X.ofx). */
static int resources_dir(char *out, size_t size) {
  Dl_info info;
  if (!dladdr((void *)&resources_dir, &info) || !info.dli_fname) return 0;
  char binary[PATH_MAX];
  if (!realpath(info.dli_fname, binary)) snprintf(binary, sizeof binary, "%s", info.dli_fname);
  char *slash = strrchr(binary, '/'); /* strip file name */
  if (!slash) return 0;
  *slash = '\0';
  slash = strrchr(binary, '/'); /* strip Linux-x86-64 */
  if (!slash) return 0;
  *slash = '\0';
  snprintf(out, size, "%s/Resources", binary);
  return 1;
}

/* Value of a string "key": "value" pair anywhere in a small JSON text (keys are unique in our
 * configuration). Handles the escapes json.dumps writes for paths. */
static int json_string(const char *text, const char *key, char *out, size_t size) {
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *at = strstr(text, quoted);
  if (!at) return 0;
  at += strlen(quoted);
  while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r') at++;
  if (*at++ != ':') return 0;
  while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r') at++;
  if (*at++ != '"') return 0;
  size_t n = 0;
  while (*at && *at != '"' && n + 1 < size) {
    char c = *at++;
    if (c == '\\') {
      c = *at++;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
      else if (c == 'u' || c == '\0') return 0; /* the build writes UTF-8 as it is, never \u escapes */
    }
    out[n++] = c;
  }
  out[n] = '\0';
  return *at == '"';
}

static char *read_text_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  fseek(file, 0, SEEK_SET);
  char *text = length >= 0 ? malloc((size_t)length + 1) : NULL;
  if (text) {
    size_t got = fread(text, 1, (size_t)length, file);
    text[got] = '\0';
  }
  fclose(file);
  return text;
}

/* libpython and the executable the bundle was built against, from its configuration file
 * (PATH_MAX buffers); 0 with g_py_error set when it is missing or unreadable. */
static int read_bundle_config(const char *resources, char *libpython, char *executable) {
  char config_path[PATH_MAX + 64];
  snprintf(config_path, sizeof config_path, "%s/" CONFIG_FILE_NAME, resources);
  char *config = read_text_file(config_path);
  int configured = config && json_string(config, "libpython", libpython, PATH_MAX) &&
                   json_string(config, "executable", executable, PATH_MAX);
  free(config);
  if (!configured) snprintf(g_py_error, sizeof g_py_error, "missing or unreadable %s", config_path);
  return configured;
}

/* ------------------------------------------------------------------------------------------ */
/* Starting or joining Python                                                                  */

static int resolve_python(void *library) {
  void *symbol;
#define RESOLVE(name)                                                                           \
  symbol = dlsym(library, #name);                                                              \
  if (!symbol) {                                                                               \
    snprintf(g_py_error, sizeof g_py_error, "libpython lacks the symbol %s", #name);           \
    return 0;                                                                                  \
  }                                                                                            \
  memcpy(&py.name, &symbol, sizeof symbol);
  PY_FUNCTIONS(RESOLVE)
#undef RESOLVE
  return 1;
}

/* Python's pending exception as "Type: message" (GIL held). */
static void describe_python_error(char *out, size_t size) {
  PyObject *type = NULL, *value = NULL, *traceback = NULL;
  py.PyErr_Fetch(&type, &value, &traceback);
  const char *type_name = "error";
  PyObject *name = type ? py.PyObject_GetAttrString(type, "__name__") : NULL;
  if (name) type_name = py.PyUnicode_AsUTF8(name);
  PyObject *text = value ? py.PyObject_Str(value) : NULL;
  const char *message = text ? py.PyUnicode_AsUTF8(text) : "";
  snprintf(out, size, "%s: %s", type_name ? type_name : "error", message ? message : "");
  py.PyErr_Clear();
  if (name) py.Py_DecRef(name);
  if (text) py.Py_DecRef(text);
  if (type) py.Py_DecRef(type);
  if (value) py.Py_DecRef(value);
  if (traceback) py.Py_DecRef(traceback);
}

/* Imports the bridge and keeps its dispatcher (GIL held). */
static int bootstrap_bridge(const char *resources) {
  char python_dir[PATH_MAX];
  snprintf(python_dir, sizeof python_dir, "%s/python", resources);
  PyObject *sys = py.PyImport_ImportModule("sys");
  PyObject *path = sys ? py.PyObject_GetAttrString(sys, "path") : NULL;
  PyObject *entry_dir = py.PyUnicode_FromString(python_dir);
  int inserted = path && entry_dir && py.PyList_Insert(path, 0, entry_dir) == 0;
  if (entry_dir) py.Py_DecRef(entry_dir);
  if (path) py.Py_DecRef(path);
  if (sys) py.Py_DecRef(sys);
  PyObject *dispatch = NULL;
  if (inserted) {
    PyObject *entry = py.PyImport_ImportModule(ENTRY_MODULE);
    PyObject *bootstrap = entry ? py.PyObject_GetAttrString(entry, "bootstrap") : NULL;
    if (bootstrap) {
      dispatch = py.PyObject_CallFunction(bootstrap, "Ks", (unsigned long long)(uintptr_t)g_host, resources);
      py.Py_DecRef(bootstrap);
    }
    if (entry) py.Py_DecRef(entry);
  }
  if (!dispatch) {
    char detail[1024];
    describe_python_error(detail, sizeof detail);
    snprintf(g_py_error, sizeof g_py_error, "could not start the ColorMotion bridge (%s)", detail);
    return 0;
  }
  g_dispatch = dispatch;
  return 1;
}

static int python_version_matches(char *found, size_t size) {
  int major = 0, minor = 0;
  const char *version = py.Py_GetVersion();
  sscanf(version, "%d.%d", &major, &minor);
  snprintf(found, size, "%d.%d", major, minor);
  return major == PY_MAJOR_VERSION && minor == PY_MINOR_VERSION;
}

/* The host already runs Python: join it if it is our minor version, else refuse. */
static int join_python(const char *resources) {
  char found[32];
  if (!python_version_matches(found, sizeof found)) {
    snprintf(g_py_error, sizeof g_py_error,
             "ColorMotion was built for Python %d.%d, but this host already runs Python %s in its "
             "process. Rebuild the plug-in with a Python %s environment (colormotion ofx build).",
             PY_MAJOR_VERSION, PY_MINOR_VERSION, found, found);
    return 0;
  }
  PyGILState_STATE gil = py.PyGILState_Ensure();
  int ok = bootstrap_bridge(resources);
  py.PyGILState_Release(gil);
  return ok;
}

static int start_python(const char *resources, const char *executable) {
  PyConfig config;
  py.PyConfig_InitIsolatedConfig(&config);
  /* The interpreter finds its prefix, the venv (pyvenv.cfg) and site-packages from the
   * executable of the environment the bundle was built against. */
  PyStatus status = py.PyConfig_SetBytesString(&config, &config.program_name, executable);
  if (!py.PyStatus_Exception(status))
    status = py.PyConfig_SetBytesString(&config, &config.executable, executable);
  if (!py.PyStatus_Exception(status)) status = py.Py_InitializeFromConfig(&config);
  py.PyConfig_Clear(&config);
  if (py.PyStatus_Exception(status)) {
    snprintf(g_py_error, sizeof g_py_error, "Python did not start: %s",
             status.err_msg ? status.err_msg : "unknown error");
    return 0;
  }
  int ok = bootstrap_bridge(resources);
  py.PyEval_SaveThread(); /* release the GIL so any host thread can call in */
  return ok;
}

static int ensure_python_locked(void) {
  char resources[PATH_MAX];
  if (!resources_dir(resources, sizeof resources)) {
    snprintf(g_py_error, sizeof g_py_error, "cannot locate the bundle's Resources folder");
    return 0;
  }
  /* A Python whose symbols are already global in this process (Natron, Nuke, an earlier load). */
  void *running = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
  if (running && ((int (*)(void))running)()) {
    if (!resolve_python(RTLD_DEFAULT)) return 0;
    return join_python(resources);
  }
  char libpython[PATH_MAX], executable[PATH_MAX];
  if (!read_bundle_config(resources, libpython, executable)) return 0;
  void *library = dlopen(libpython, RTLD_NOW | RTLD_GLOBAL);
  if (!library) {
    snprintf(g_py_error, sizeof g_py_error, "cannot load %s: %s", libpython, dlerror());
    return 0;
  }
  if (!resolve_python(library)) return 0;
  if (py.Py_IsInitialized()) return join_python(resources);
  return start_python(resources, executable);
}

static int ensure_python(void) {
  if (__atomic_load_n(&g_py_state, __ATOMIC_ACQUIRE) == PY_READY) return 1; /* every later action */
  pthread_mutex_lock(&g_init_mutex);
  if (g_py_state == PY_UNTRIED) {
    struct timespec begin, end;
    clock_gettime(CLOCK_MONOTONIC, &begin);
    __atomic_store_n(&g_py_state, ensure_python_locked() ? PY_READY : PY_FAILED, __ATOMIC_RELEASE);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - begin.tv_sec) + 1e-9 * (double)(end.tv_nsec - begin.tv_nsec);
    if (g_py_state == PY_READY)
      log_line("python ready in %.3f s", seconds);
  }
  int ready = g_py_state == PY_READY;
  pthread_mutex_unlock(&g_init_mutex);
  return ready;
}

/* ------------------------------------------------------------------------------------------ */
/* Describe and DescribeInContext without Python                                               */

/* Resources/description.tsv, recorded at build time by colormotion_ofx.description: the property
 * and definition calls Python's describe makes, replayed here so a host that only scans
 * plug-ins (MLT does at every start) never starts Python. */
static char *g_description;
static int g_description_state; /* 0 untried, 1 loaded, -1 absent */
static pthread_mutex_t g_description_mutex = PTHREAD_MUTEX_INITIALIZER;

static const char *description_text(void) {
  pthread_mutex_lock(&g_description_mutex);
  if (g_description_state == 0) {
    char resources[PATH_MAX], path[PATH_MAX + 64];
    g_description_state = -1;
    if (resources_dir(resources, sizeof resources)) {
      snprintf(path, sizeof path, "%s/" DESCRIPTION_FILE_NAME, resources);
      g_description = read_text_file(path);
      if (g_description) g_description_state = 1;
    }
  }
  pthread_mutex_unlock(&g_description_mutex);
  return g_description_state == 1 ? g_description : NULL;
}

/* Splits a record (one line, modified in place) at tabs and undoes the \t \n \\ escapes. */
static int split_record(char *line, char **fields, int capacity) {
  int count = 0;
  char *read = line;
  while (count < capacity) {
    fields[count++] = read;
    char *write = read;
    while (*read && *read != '\t') {
      if (*read == '\\' && read[1]) {
        read++;
        *write++ = *read == 't' ? '\t' : *read == 'n' ? '\n' : *read;
        read++;
      } else {
        *write++ = *read++;
      }
    }
    int more = *read == '\t';
    *write = '\0';
    if (!more) break;
    read++;
  }
  return count;
}

enum { FIELD_CAPACITY = 64 };

static OfxStatus set_recorded_property(const OfxPropertySuiteV1 *props, OfxPropertySetHandle target,
                                       char **fields, int count) {
  /* fields: section, "set", target, flag, kind, property, values... */
  const char *kind = fields[4], *name = fields[5];
  for (int i = 6; i < count; i++) {
    OfxStatus status;
    if (kind[0] == 'i') status = props->propSetInt(target, name, i - 6, atoi(fields[i]));
    else if (kind[0] == 'd') status = props->propSetDouble(target, name, i - 6, strtod(fields[i], NULL));
    else status = props->propSetString(target, name, i - 6, fields[i]);
    if (status != kOfxStatOK) return status;
  }
  return kOfxStatOK;
}

/* Replays the records of `section` ("describe" or a context) on `effect`. Returns
 * kOfxStatReplyDefault when there is no description file (Python then answers). */
static OfxStatus replay_description(const char *section, OfxImageEffectHandle effect) {
  const char *text = description_text();
  if (!text || !g_host) return kOfxStatReplyDefault;
  const OfxPropertySuiteV1 *props = g_host->fetchSuite(g_host->host, kOfxPropertySuite, 1);
  const OfxImageEffectSuiteV1 *effects = g_host->fetchSuite(g_host->host, kOfxImageEffectSuite, 1);
  const OfxParameterSuiteV1 *params = g_host->fetchSuite(g_host->host, kOfxParameterSuite, 1);
  if (!props || !effects || !params) return kOfxStatErrMissingHostFeature;
  OfxPropertySetHandle effect_props = NULL, clip_props = NULL, param_props = NULL;
  OfxParamSetHandle param_set = NULL;
  if (effects->getPropertySet(effect, &effect_props) != kOfxStatOK) return kOfxStatErrBadHandle;
  char *copy = strdup(text);
  if (!copy) return kOfxStatErrMemory;
  OfxStatus result = kOfxStatOK;
  char *fields[FIELD_CAPACITY];
  for (char *line = copy, *next; line && *line && result == kOfxStatOK; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    int count = split_record(line, fields, FIELD_CAPACITY);
    if (count < 3 || strcmp(fields[0], section) != 0) continue;
    OfxStatus status = kOfxStatOK;
    const char *what = fields[2];
    if (!strcmp(fields[1], "clip")) {
      status = effects->clipDefine(effect, fields[2], &clip_props);
    } else if (!strcmp(fields[1], "param") && count >= 4) {
      if (!param_set) status = effects->getParamSet(effect, &param_set);
      if (status == kOfxStatOK) status = params->paramDefine(param_set, fields[2], fields[3], &param_props);
      what = fields[3];
    } else if (!strcmp(fields[1], "set") && count >= 7) {
      OfxPropertySetHandle target = !strcmp(fields[2], "effect") ? effect_props
                                    : !strcmp(fields[2], "clip") ? clip_props
                                                                 : param_props;
      what = fields[5];
      status = target ? set_recorded_property(props, target, fields, count) : kOfxStatErrBadHandle;
      if (status != kOfxStatOK && fields[3][0] == 'o') status = kOfxStatOK; /* optional: hosts may not know it */
    } else {
      status = kOfxStatErrFormat;
    }
    if (status != kOfxStatOK) {
      char message[512];
      snprintf(message, sizeof message, "ColorMotion: describing %s failed at %s %s (OpenFX status %d)", section,
               fields[1], what, status);
      report_error(effect, message);
      result = kOfxStatFailed;
    }
  }
  free(copy);
  return result;
}

/* What Python would find at its start, checked without starting it, so a host never lists a
 * plug-in that cannot run: the configuration and the libpython it names. */
static int bundle_can_start_python(void) {
  char resources[PATH_MAX], libpython[PATH_MAX], executable[PATH_MAX];
  if (!resources_dir(resources, sizeof resources)) {
    snprintf(g_py_error, sizeof g_py_error, "cannot locate the bundle's Resources folder");
    return 0;
  }
  if (!read_bundle_config(resources, libpython, executable)) return 0;
  if (access(libpython, R_OK) != 0) {
    snprintf(g_py_error, sizeof g_py_error, "cannot load %s: %s", libpython, strerror(errno));
    return 0;
  }
  return 1;
}

/* Describe and DescribeInContext from the recorded description; kOfxStatReplyDefault when Python
 * must answer (another action, no description file, or a Python already running in the host,
 * which the bridge joins cheaply and whose version it must check). */
static OfxStatus describe_without_python(const char *action, const void *handle, OfxPropertySetHandle in_args) {
  int describing = strcmp(action, kOfxActionDescribe) == 0;
  if (!describing && strcmp(action, kOfxImageEffectActionDescribeInContext) != 0) return kOfxStatReplyDefault;
  void *running = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
  if ((running && ((int (*)(void))running)()) || !description_text()) return kOfxStatReplyDefault;
  if (describing) {
    if (!bundle_can_start_python()) {
      char text[2200];
      snprintf(text, sizeof text, "ColorMotion cannot run: %s", g_py_error);
      report_error(handle, text);
      return kOfxStatErrMissingHostFeature;
    }
    return replay_description("describe", (OfxImageEffectHandle)handle);
  }
  const OfxPropertySuiteV1 *props = g_host->fetchSuite(g_host->host, kOfxPropertySuite, 1);
  char *context = NULL;
  if (!props || props->propGetString(in_args, kOfxImageEffectPropContext, 0, &context) != kOfxStatOK || !context)
    return kOfxStatErrMissingHostFeature;
  return replay_description(context, (OfxImageEffectHandle)handle);
}

/* ------------------------------------------------------------------------------------------ */
/* Actions                                                                                     */

static OfxStatus call_python(const char *action, const void *handle, OfxPropertySetHandle in_args,
                             OfxPropertySetHandle out_args) {
  PyGILState_STATE gil = py.PyGILState_Ensure();
  OfxStatus status = kOfxStatErrFatal;
  PyObject *result = py.PyObject_CallFunction(g_dispatch, "sKKK", action, (unsigned long long)(uintptr_t)handle,
                                              (unsigned long long)(uintptr_t)in_args,
                                              (unsigned long long)(uintptr_t)out_args);
  char detail[1024] = "";
  if (result) {
    long value = py.PyLong_AsLong(result);
    if (value == -1 && py.PyErr_Occurred())
      describe_python_error(detail, sizeof detail);
    else
      status = (OfxStatus)value;
    py.Py_DecRef(result);
  } else {
    /* the dispatcher catches everything; this is a last guard */
    describe_python_error(detail, sizeof detail);
  }
  py.PyGILState_Release(gil);
  if (detail[0]) {
    char text[1200];
    snprintf(text, sizeof text, "ColorMotion: %s failed inside Python (%s)", action, detail);
    report_error(handle, text);
  }
  return status;
}

static OfxStatus main_entry(const char *action, const void *handle, OfxPropertySetHandle in_args,
                            OfxPropertySetHandle out_args) {
  if (!action) return kOfxStatErrBadHandle;
  if (strcmp(action, kOfxActionLoad) == 0) return g_host ? kOfxStatOK : kOfxStatErrMissingHostFeature;
  int python_started = __atomic_load_n(&g_py_state, __ATOMIC_ACQUIRE) == PY_READY;
  if (strcmp(action, kOfxActionUnload) == 0 && !python_started) return kOfxStatOK;
  if (!g_host) return kOfxStatErrMissingHostFeature;
  if (!python_started) {
    OfxStatus status = describe_without_python(action, handle, in_args);
    if (status != kOfxStatReplyDefault) return status;
  }
  if (!ensure_python()) {
    char text[2200];
    snprintf(text, sizeof text, "ColorMotion cannot run: %s", g_py_error);
    report_error(handle, text);
    return strcmp(action, kOfxActionDescribe) == 0 ? kOfxStatErrMissingHostFeature : kOfxStatFailed;
  }
  return call_python(action, handle, in_args, out_args);
}

static void set_host(OfxHost *host) { g_host = host; }

static OfxPlugin g_plugin = {
    kOfxImageEffectPluginApi, kOfxImageEffectPluginApiVersion, COLORMOTION_PLUGIN_ID,
    COLORMOTION_VERSION_MAJOR, COLORMOTION_VERSION_MINOR,       set_host,
    main_entry,
};

EXPORT int OfxGetNumberOfPlugins(void) { return 1; }

EXPORT OfxPlugin *OfxGetPlugin(int nth) { return nth == 0 ? &g_plugin : NULL; }

EXPORT OfxStatus OfxSetHost(const OfxHost *host) {
  g_host = (OfxHost *)host;
  return kOfxStatOK;
}
