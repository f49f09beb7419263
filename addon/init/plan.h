/* The decoded PLAN and CONTINUE records: struct tsrun_plan and the record structs are generated
 * from src/protocol/records.ts into records.h, and decoded by walking the tables of records.c. */
#ifndef TSRUN_PLAN_H
#define TSRUN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "records.h"
#include "sync.h"

enum tsrun_frame_kind { TSRUN_FRAME_PLAN, TSRUN_FRAME_CONTINUE };

/* Decodes the records of a PLAN or CONTINUE payload into *plan (which starts zeroed; a CONTINUE
 * is decoded into the plan already holding the PLAN). Tags that do not belong to the frame kind,
 * unknown tags, truncated or oversized values, values outside a field's enum or limit and
 * duplicates of single records are errors. */
int tsrun_plan_decode(struct tsrun_plan *plan, enum tsrun_frame_kind kind, char *buf, size_t len,
                      tsrun_error_t *err);
/* Created by the plan (Namespaces) or joined (NsPath): CLONE_NEW* `type`. */
bool tsrun_plan_has_namespace(const struct tsrun_plan *plan, uint32_t type);
/* What init cannot do without (rootfs, args, state dir), and the namespaces that keep its
 * hostname, mount and network changes off the host. */
int tsrun_plan_check_init(const struct tsrun_plan *plan, tsrun_error_t *err);
void tsrun_plan_free(struct tsrun_plan *plan);
const char *tsrun_tag_name(uint32_t tag);

#endif
