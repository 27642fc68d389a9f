/*
 * load.c and registry.c: the ABI fixtures in <build>/tests/plugins are each refused with a
 * message naming the file and the reason, while the good one (and the first claimant of a
 * duplicated index) still load; field-table checks through in-process descriptors; listing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin.h"

#define FIXTURES TW_BUILD_DIR "/tests/plugins"
#define BUILTINS TW_BUILD_DIR "/plugins"

static struct tw_plugin_registry *reg;

static void setup(void)
{
    struct tw_err err;

    cr_assert_eq(tw_plugin_registry_create(&reg, &err), TW_OK);
}

static void teardown(void)
{
    tw_plugin_registry_destroy(reg);
}

TestSuite(load, .init = setup, .fini = teardown, .timeout = 10);

/* The refusal mentioning file, or NULL. */
static const char *refusal_of(const char *file)
{
    const char *m;
    size_t i;

    for (i = 0; (m = tw_plugin_registry_refused(reg, i)) != NULL; i++)
        if (strstr(m, file) != NULL)
            return m;
    return NULL;
}

Test(load, fixtures_dir_loads_good_and_refuses_the_rest)
{
    struct tw_err err;
    const char *m;

    cr_assert_eq(tw_plugin_registry_load_dir(reg, FIXTURES, &err), TW_OK, "%s", err.msg);
    cr_assert_not_null(tw_plugin_registry_find(reg, "fixture"));
    cr_assert_not_null(tw_plugin_registry_find(reg, "crash"));
    /* Built against ABI 1.0: loads, and the 1.1 member it lacks reads as NULL. */
    cr_assert_not_null(tw_plugin_registry_find(reg, "old-minor"));
    cr_assert_null(tw_plugin_registry_find(reg, "old-minor")->desc.change_column);
    cr_assert_eq(tw_plugin_registry_count(reg), 3);

    m = refusal_of("/missing_entry.so");
    cr_assert(m && strstr(m, "does not export tw_index_plugin_v1"), "%s", m ? m : "none");
    m = refusal_of("/abi_major_mismatch.so");
    cr_assert(m && strstr(m, "built for ABI 2.0, the engine has ABI 1."), "%s", m ? m : "none");
    m = refusal_of("/too_small.so");
    cr_assert(m && strstr(m, "descriptor is 16 bytes"), "%s", m ? m : "none");
    m = refusal_of("/minor_too_new.so");
    cr_assert(m && strstr(m, "needs ABI 1.3"), "%s", m ? m : "none");
    m = refusal_of("/bad_signature.so");
    cr_assert(m && strstr(m, "built for another platform"), "%s", m ? m : "none");
    m = refusal_of("/duplicate_index.so");
    cr_assert(m && strstr(m, "index crash is already served by") && strstr(m, "crash_in_next.so"),
              "%s", m ? m : "none");
    m = refusal_of("/bad_fields.so");
    cr_assert(m && strstr(m, "field \"id\" appears twice"), "%s", m ? m : "none");
    cr_assert_null(tw_plugin_registry_refused(reg, 7));
}

Test(load, refusal_of_one_file_says_which_and_why)
{
    struct tw_err err;
    int ret;

    ret = tw_plugin_registry_load_file(reg, FIXTURES "/abi_major_mismatch.so", &err);
    cr_assert_eq(ret, TW_EINVAL);
    cr_assert(strncmp(err.msg, "plugin " FIXTURES "/abi_major_mismatch.so: ", 7) == 0, "%s",
              err.msg);
    ret = tw_plugin_registry_load_file(reg, FIXTURES "/no_such.so", &err);
    cr_assert_eq(ret, TW_EINVAL);
    cr_assert(strstr(err.msg, "cannot load") && strstr(err.msg, "ldd(1)"), "%s", err.msg);
    cr_assert_eq(tw_plugin_registry_count(reg), 0);
}

Test(load, missing_dir_is_an_error)
{
    struct tw_err err;

    cr_assert_eq(tw_plugin_registry_load_dir(reg, "/nonexistent/tw", &err), TW_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/tw"), "%s", err.msg);
}

Test(load, builtin_plugins_load_with_spec_columns)
{
    static const char *const indexes[] = { "users",         "transactions", "vouchers",
                                           "wallet-ledger", "products",     "product-variants" };
    static const char *const labels[] = { "User",   "Transaction", "Voucher",
                                          "Wallet", "Product",     "ProductVariant" };
    static const unsigned ncols[] = { 18, 13, 13, 10, 12, 9 };
    const struct tw_plugin *p;
    struct tw_err err;
    size_t i;

    cr_assert_eq(tw_plugin_registry_load_dir(reg, BUILTINS, &err), TW_OK, "%s", err.msg);
    cr_assert_null(tw_plugin_registry_refused(reg, 0), "%s", tw_plugin_registry_refused(reg, 0));
    for (i = 0; i < 6; i++) {
        p = tw_plugin_registry_find(reg, indexes[i]);
        cr_assert_not_null(p, "%s", indexes[i]);
        cr_assert_str_eq(p->desc.label, labels[i]);
        cr_assert_eq(p->nfields, ncols[i], "%s has %u", indexes[i], p->nfields);
        /* ABI 1.1: every built-in index can export changes only (docs/reference.md §13). */
        cr_assert_not_null(p->desc.change_column, "%s declares no change column", indexes[i]);
        cr_assert_eq(p->desc.abi_minor, TW_ABI_MINOR);
    }
    p = tw_plugin_registry_find(reg, "transactions");
    cr_assert_str_eq(p->desc.fields[12].name, "items");
    cr_assert_eq(tw_field_count(p->desc.fields[12].nested), 8);
}

Test(load, print_lists_fields_types_and_refusals)
{
    struct tw_err err;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    tw_plugin_registry_load_dir(reg, FIXTURES, &err);
    f = open_memstream(&text, &len);
    cr_assert_eq(tw_plugin_registry_print(reg, f), TW_OK);
    fclose(f);
    cr_assert(strstr(text, "fixture  label Fixture  version 0.1.0  file " FIXTURES "/good.so"),
              "%s", text);
    cr_assert(strstr(text, "amount"), "%s", text);
    cr_assert(strstr(text, "money     number   filterable"), "%s", text);
    cr_assert(strstr(text, "tags                       list      -        nested"), "%s", text);
    cr_assert(strstr(text, "    tag                      keyword   keyword  filterable"), "%s",
              text);
    cr_assert(strstr(text, "refused: plugin " FIXTURES "/too_small.so"), "%s", text);
    cr_assert(strstr(text, "old-minor  label OldMinor  version 1.0.0  file " FIXTURES
                           "/abi_1_0.so\n  changes: none (no target.since)\n"),
              "%s", text);
    free(text);
}

/* ---- field tables, through in-process descriptors (same checks after the dlsym step) ---- */

static int f_open(const struct tw_host *h, struct tw_query *q, void **c, struct tw_err *e)
{
    return -1;
}
static int f_next(void *c, struct tw_record *r, struct tw_err *e)
{
    return 0;
}
static void f_close(void *c)
{
}

static int add_table(const struct tw_field *fields, struct tw_err *err)
{
    struct tw_index_plugin d = { .abi_major = TW_ABI_MAJOR,
                                 .abi_minor = TW_ABI_MINOR,
                                 .size = sizeof(d),
                                 .signature = TW_BUILD_SIG,
                                 .index = "t",
                                 .label = "T",
                                 .version = "1",
                                 .fields = fields,
                                 .open = f_open,
                                 .next = f_next,
                                 .close = f_close };
    static struct tw_index_plugin keep;

    keep = d; /* must outlive the registry when accepted */
    return tw_plugin_registry_add(reg, &keep, "inline", err);
}

Test(load, field_table_refusals)
{
    static const struct tw_field sub[] = { { .name = "x", .type = TW_FIELD_INT }, { 0 } };
    static const struct tw_field nested_list[] = {
        { .name = "l", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = sub }, { 0 }
    };
    static const struct tw_field unknown_type[] = { { .name = "a", .type = 42 }, { 0 } };
    static const struct tw_field no_name[] = { { .name = "a", .type = 1 }, { .type = 1 }, { 0 } };
    static const struct tw_field empty_name[] = { { .name = "", .type = 1 }, { 0 } };
    static const struct tw_field no_sub[] = {
        { .name = "l", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED }, { 0 }
    };
    static const struct tw_field no_flag[] = {
        { .name = "l", .type = TW_FIELD_LIST, .nested = sub }, { 0 }
    };
    static const struct tw_field two_levels[] = {
        { .name = "l", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = nested_list },
        { 0 }
    };
    static const struct tw_field odd_name[] = { { .name = "a b", .type = 1 }, { 0 } };
    static const struct tw_field empty[] = { { 0 } };
    struct tw_err err;

    cr_assert_eq(add_table(unknown_type, &err), TW_EINVAL);
    cr_assert(
        strstr(err.msg, "plugin inline: index t: bad field table: field \"a\" has unknown type 42"),
        "%s", err.msg);
    cr_assert_eq(add_table(no_name, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "field 1 has no name"), "%s", err.msg);
    cr_assert_eq(add_table(empty_name, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "field 0 has no name"), "%s", err.msg);
    cr_assert_eq(add_table(no_sub, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "list field \"l\" has no sub-fields"), "%s", err.msg);
    cr_assert_eq(add_table(no_flag, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "lacks the nested flag"), "%s", err.msg);
    cr_assert_eq(add_table(two_levels, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "lists nest one level"), "%s", err.msg);
    cr_assert_eq(add_table(odd_name, &err), TW_EINVAL);
    cr_assert_eq(add_table(empty, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "field table is empty"), "%s", err.msg);
    cr_assert_eq(tw_plugin_registry_count(reg), 0);
    cr_assert_eq(add_table(nested_list, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_plugin_registry_count(reg), 1);
}

Test(load, descriptor_refusals)
{
    static const struct tw_field ok[] = { { .name = "id", .type = TW_FIELD_INT }, { 0 } };
    static struct tw_index_plugin d;
    struct tw_err err;

    d = (struct tw_index_plugin){ .abi_major = 1,
                                  .size = sizeof(d),
                                  .signature = TW_BUILD_SIG,
                                  .index = "../x",
                                  .label = "L",
                                  .version = "1",
                                  .fields = ok,
                                  .open = f_open,
                                  .next = f_next,
                                  .close = f_close };
    cr_assert_eq(tw_plugin_registry_add(reg, &d, "inline", &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "index name"), "%s", err.msg);
    d.index = "x";
    d.label = "a/b";
    cr_assert_eq(tw_plugin_registry_add(reg, &d, "inline", &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "label"), "%s", err.msg);
    d.label = "X";
    d.next = NULL;
    cr_assert_eq(tw_plugin_registry_add(reg, &d, "inline", &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "are all required"), "%s", err.msg);
    d.next = f_next;
    cr_assert_eq(tw_plugin_registry_add(reg, &d, "inline", &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_plugin_registry_add(reg, &d, "again", &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "plugin again: index x is already served by inline"), "%s", err.msg);
}
