/*
 * csv.c through the "fixture" plugin (tests/plugins/good.c), whose names need quoting,
 * doubling and the formula guard: RFC 4180 shape, header, item flattening, number, money,
 * boolean, null and date forms.
 */
#include "export_fixture.h"

static struct xfx f;

static void setup(void)
{
    xfx_setup(&f, FIXTURES);
}

static void teardown(void)
{
    xfx_teardown(&f);
}

TestSuite(csv, .init = setup, .fini = teardown, .timeout = 20);

Test(csv, header_and_rfc4180_shape)
{
    static const char header[] = "id,name,code,amount,ratio,active,day,at,item_tag,item_weight\r\n";
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=12", 1764);
    struct tw_export_stats st;
    struct csv_doc doc;
    char *text = xfx_run(&job, &st);
    size_t r;

    cr_assert_str_eq(st.file, "Fixture_Export-12345.csv");
    cr_assert_eq(st.total, 12);
    cr_assert_eq(st.success, 12);
    cr_assert(strncmp(text, header, strlen(header)) == 0, "%s", text);
    cr_assert(strncmp(text, "\xef\xbb\xbf", 3) != 0, "no BOM");
    csv_parse(text, &doc);
    for (r = 0; r < doc.nrows; r++)
        cr_assert_eq(doc.ncells[r], 10, "row %zu", r);
    /* 12 records; i % 3 elements each, a record without any is one row: 4+4*1+4*2 ... */
    cr_assert_eq(doc.nrows, 1 + 4 * 1 + 4 * 1 + 4 * 2);
    csv_free(&doc);
    free(text);
}

Test(csv, quoting_doubling_and_formula_guard)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=12", 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);

    cr_assert(
        strstr(text, "\r\n1,plain,K-1,-37.66,0.25,true,2026-01-02,2026-05-26T12:00:01Z,t0,0\r\n"),
        "%s", text);
    cr_assert(strstr(text, "\r\n2,\"with, comma\",K-1,-25.32,0.5,false,"), "%s", text);
    cr_assert(strstr(text, "\r\n3,\"with \"\"quote\"\"\",K-1,-12.98,0.75,true,2026-01-04,"
                           "2026-05-26T12:00:03Z,,\r\n"),
              "%s", text);
    cr_assert(strstr(text, "\r\n4,\"two\nlines\",K-1,-0.64,1,false,"), "%s", text);
    cr_assert(strstr(text, "\r\n5,'=SUM(A1:A9),K-1,11.70,1.25,"), "%s", text);
    cr_assert(strstr(text, "\r\n6,'-minus,K-1,24.04,"), "%s", text);
    cr_assert(strstr(text, "\r\n7,,K-1,"), "null is an empty cell: %s", text);
    cr_assert(strstr(text, "\r\n8,,K-1,"), "empty text is an empty cell: %s", text);
    cr_assert(strstr(text, "\r\n9,tab\tinside,K-1,"), "%s", text);
    cr_assert(strstr(text, "\r\n10,back\\slash,"), "%s", text);
    cr_assert(strstr(text, "\r\n11,'+plus,"), "%s", text);
    cr_assert(strstr(text, "\r\n12,'@at,"), "%s", text);
    /* Negative money is a number, never guarded. */
    cr_assert_null(strstr(text, "'-37.66"));
    free(text);
}

Test(csv, items_repeat_the_record_columns)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=12", 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);

    /* Record 2 has two elements: two rows, identical up to the element columns. */
    cr_assert(strstr(text, "2026-05-26T12:00:02Z,t0,0\r\n2,\"with, comma\",K-1,-25.32,0.5,false,"
                           "2026-01-03,2026-05-26T12:00:02Z,t1,10\r\n"),
              "%s", text);
    free(text);
}

Test(csv, zero_records_is_the_header_alone)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=0", 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);

    cr_assert_str_eq(text, "id,name,code,amount,ratio,active,day,at,item_tag,item_weight\r\n");
    cr_assert_eq(st.total, 0);
    free(text);
}

Test(csv, item_column_names)
{
    char name[64];

    tw_csv_item_column("basket_item_subtotal", name, sizeof(name));
    cr_assert_str_eq(name, "item_subtotal");
    tw_csv_item_column("item_is_promotional", name, sizeof(name));
    cr_assert_str_eq(name, "item_is_promotional");
    tw_csv_item_column("retailer_product_code", name, sizeof(name));
    cr_assert_str_eq(name, "item_retailer_product_code");
}

Test(csv, a_huge_cell_across_buffer_flushes)
{
    /* Record columns bigger than the stream buffer still repeat correctly per element. */
    static const struct tw_field sub[] = { { .name = "n", .type = TW_FIELD_INT }, { 0 } };
    static const struct tw_field fields[] = {
        { .name = "big", .type = TW_FIELD_TEXT },
        { .name = "l", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = sub },
        { 0 }
    };
    struct tw_record *r;
    struct tw_out out;
    struct tw_err err;
    void *state;
    char *big = malloc(3 << 20);
    char path[128];
    int fd;
    int k;

    memset(big, 'b', 3 << 20);
    big[0] = '=';
    snprintf(path, sizeof(path), "%s/big.csv", f.dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    cr_assert_eq(tw_out_init(&out, fd, path, false, &err), TW_OK);
    cr_assert_eq(tw_record_create(fields, &r, &err), TW_OK);
    cr_assert_eq(tw_csv_writer.begin(NULL, &out, fields, &state, &err), TW_OK);
    tw_record_set_text(r, 0, big, 3 << 20);
    for (k = 0; k < 3; k++) {
        tw_record_item_begin(r, 1);
        tw_record_set_int(r, 0, k);
        tw_record_item_end(r);
    }
    cr_assert_eq(tw_csv_writer.row(state, r, &err), TW_OK);
    cr_assert_eq(tw_csv_writer.end(state, &err), TW_OK);
    tw_csv_writer.destroy(state);
    {
        uint64_t bytes;
        char sha[65];

        cr_assert_eq(tw_out_finish(&out, &bytes, sha, &err), TW_OK);
        cr_assert_eq(bytes, 12 + 3 * ((3u << 20) + 5));
    }
    tw_out_fini(&out);
    close(fd);
    tw_record_destroy(r);
    {
        char *text = xfx_read(path, NULL);
        char *row = text + 12;

        cr_assert(strncmp(text, "big,item_n\r\n", 12) == 0, "%.20s", text);
        for (k = 0; k < 3; k++) {
            cr_assert_eq(row[0], '\'');
            cr_assert_eq(row[1], '=');
            cr_assert_eq(row[(3 << 20) + 1], ',');
            cr_assert_eq(row[(3 << 20) + 2], '0' + k);
            row += (3 << 20) + 5;
        }
        free(text);
    }
    free(big);
}
