/* What seccomp support this helper has, for `tsrun features` (tsrun-init --seccomp-features). */
#ifndef TSRUN_SECCOMP_H
#define TSRUN_SECCOMP_H

#include <stdio.h>

/* Prints {"libseccomp":"X.Y.Z","archs":[...],"actions":[...],"supportedFlags":[...]}: the architectures this
 * libseccomp knows and the actions and filter flags this kernel accepts. */
void tsrun_seccomp_features(FILE *out);

#endif
