/*
 * The built-in writers by export_format name: the one list of them, read by the run (which
 * writer a job uses) and by the server (which export_format values a task may name).
 */
#include "export/export.h"

const struct tw_writer_ops *const tw_writers[] = { &tw_csv_writer, &tw_json_writer, NULL };

const struct tw_writer_ops *tw_writer_find(const char *name)
{
    for (size_t i = 0; tw_writers[i] != NULL; i++)
        if (strcmp(name, tw_writers[i]->name) == 0)
            return tw_writers[i];
    return NULL;
}
