#ifndef KUSARI_CDNNL_SHIM_H
#define KUSARI_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>

/* The OpenMP runtime (libgomp) that Debian's oneDNN is built on. Kusari's own parallel
   kernels run on the same thread team, so oneDNN and Swift kernels never fight for cores. */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
int omp_in_parallel(void);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned int flags);
#endif
