/* Scalar builtins of the compiled kernel, one run at a time, with numpy's and PySD's semantics
   (see simulator/engines/fast/builtins.py). Compiled with -ffp-contract=off: no fused
   multiply-adds, every operation rounded as numpy rounds it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define K_SMALL 1e-6

/* numpy's own float64 ufunc loops (power, exp, log, ...; see to_c.UFUNCS), set once per process
   by jsd_set_loops: called on one element, they give numpy's bits for any array length. */
typedef void (*k_loop)(char **, const long *, const long *, void *);
static k_loop KF[16];
void jsd_set_loops(void *const *f, long count) { for (long i = 0; i < count && i < 16; i++) KF[i] = (k_loop)f[i]; }
static inline double k_u1(int i, double x) {
    double y; char *a[2] = {(char *)&x, (char *)&y}; long n = 1, s[2] = {8, 8};
    KF[i](a, &n, s, NULL); return y;
}
/* sx, sz: the operands' strides as numpy passes them (0 for a scalar operand, which some loops
   special-case, e.g. power with a scalar exponent). */
/* The same loops on a whole block of B runs (B is defined by the kernel before this prelude). */
static inline void k_v1(int i, const double *x, double *y) {
    char *a[2] = {(char *)x, (char *)y}; long n = B, s[2] = {8, 8};
    KF[i](a, &n, s, NULL);
}
static inline void k_v2(int i, const double *x, const double *z, double *y, long sx, long sz) {
    char *a[3] = {(char *)x, (char *)z, (char *)y}; long n = B, s[3] = {sx, sz, 8};
    KF[i](a, &n, s, NULL);
}
static inline double k_u2(int i, double x, double z, long sx, long sz) {
    double y; char *a[3] = {(char *)&x, (char *)&z, (char *)&y}; long n = 1, s[3] = {sx, sz, 8};
    KF[i](a, &n, s, NULL); return y;
}

static inline double k_min(double a, double b) { return (a <= b || isnan(a)) ? a : b; }
static inline double k_max(double a, double b) { return (a >= b || isnan(a)) ? a : b; }
static inline double k_zidz(double a, double b) { return fabs(b) < K_SMALL ? 0.0 : a / b; }
static inline double k_xidz(double a, double b, double x) { return fabs(b) < K_SMALL ? x : a / b; }
static inline double k_quantum(double a, double b) { return b < K_SMALL ? a : b * trunc(a / b); }
static inline double k_modulo(double x, double m) { return x - k_quantum(x, m); }
static inline double k_step(double t, double dt, double h, double start) {
    return h * ((t + dt / 2 > start) ? 1.0 : 0.0);
}
static inline double k_ramp(double t, double slope, double start, double finish) {
    return (((t + K_SMALL > start) ? 1.0 : 0.0) * slope) * (k_min(finish, t) - start);
}
static inline double k_pulse(double t, double start, double width) {
    return (start - K_SMALL <= t && t < start + width) ? 1.0 : 0.0;
}
static inline double k_pymod(double a, double b) {  /* numpy's np.mod (npy_divmod) */
    double mod = fmod(a, b);
    if (b == 0.0) return mod;
    if (mod != 0.0) { if ((b < 0) != (mod < 0)) mod += b; }
    else mod = copysign(0.0, b);
    return mod;
}
static inline double k_pulse_train(double t, double start, double repeat, double width, double end) {
    double single = (start - K_SMALL <= t && t < start + width) ? 1.0 : 0.0;
    double train = (start <= t && t < end && k_pymod(t - start + K_SMALL, repeat) < width) ? 1.0 : 0.0;
    return (repeat == 0 ? single : train) * 1.0;
}
static inline double k_nanadd(double a, double b) { return a + (isnan(b) ? 0.0 : b); }
static inline double k_nanmul(double a, double b) { return a * (isnan(b) ? 1.0 : b); }
static inline double k_delay_order(double order, double delay, double dt) {
    double k;
    for (k = order; k > 0; k--) if (!(k * dt > delay)) break;
    return k;
}
/* np.interp for one x (numpy's arr_interp, including its NaN fix-ups). */
static double k_interp(double x, const double *xp, const double *fp, long len) {
    if (len == 1) return (x < xp[0]) ? fp[0] : ((x > xp[0]) ? fp[0] : fp[0]);
    if (isnan(x)) return x;
    if (x < xp[0]) return fp[0];
    if (x > xp[len - 1]) return fp[len - 1];
    if (x == xp[len - 1]) return fp[len - 1];
    long lo = 0, hi = len - 1;
    while (hi - lo > 1) { long mid = (lo + hi) / 2; if (xp[mid] <= x) lo = mid; else hi = mid; }
    long j = lo;
    if (xp[j] == x) return fp[j];
    double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    double r = slope * (x - xp[j]) + fp[j];
    if (isnan(r)) {
        r = slope * (x - xp[j + 1]) + fp[j + 1];
        if (isnan(r) && fp[j] == fp[j + 1]) r = fp[j];
    }
    return r;
}
/* builtins.lookup with extrapolation: the end segments' slopes continued. */
static double k_extrapolate(double x, const double *xp, const double *fp, long len) {
    double y = k_interp(x, xp, fp, len);
    double lo = fp[0] + (fp[1] - fp[0]) / (xp[1] - xp[0]) * (x - xp[0]);
    double hi = fp[len - 1] + (fp[len - 1] - fp[len - 2]) / (xp[len - 1] - xp[len - 2]) * (x - xp[len - 1]);
    return x < xp[0] ? lo : (x > xp[len - 1] ? hi : y);
}
/* builtins.PathInterpolator for one run's row of a per-run path. */
static double k_path_row(double t, const double *years, const double *row, long len) {
    if (t <= years[0]) return row[0];
    if (t >= years[len - 1]) return row[len - 1];
    long lo = 0, hi = len - 1;
    while (hi - lo > 1) { long mid = (lo + hi) / 2; if (years[mid] <= t) lo = mid; else hi = mid; }
    double slope = (row[lo + 1] - row[lo]) / (years[lo + 1] - years[lo]);
    return slope * (t - years[lo]) + row[lo];
}
