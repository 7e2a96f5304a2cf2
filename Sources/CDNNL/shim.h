#ifndef KUSARI_CDNNL_SHIM_H
#define KUSARI_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>

/* OpenMP runtime used by Debian's oneDNN build; declared here so Swift can size its thread team. */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
#endif
