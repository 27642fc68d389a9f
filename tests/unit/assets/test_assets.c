#include <criterion/criterion.h>
#include <string.h>

#include "assets/assets.h"

Test(assets, every_asset_is_found_by_its_name_and_ends_in_a_nul)
{
    size_t n = 0;

    for (const struct tw_asset *a; (a = tw_asset_at(n)) != NULL; n++) {
        cr_assert_eq(tw_asset_find(a->name), a, "%s", a->name);
        cr_assert_eq(a->data[a->len], 0, "%s", a->name);
        cr_assert_not_null(a->content_type);
        if (n > 0)
            cr_assert_lt(strcmp(tw_asset_at(n - 1)->name, a->name), 0, "table not sorted");
    }
    cr_assert_null(tw_asset_at(n));
}

Test(assets, unknown_and_partial_names_are_not_found)
{
    cr_assert_null(tw_asset_find(NULL));
    cr_assert_null(tw_asset_find(""));
    cr_assert_null(tw_asset_find("console/../engine/main.c"));
    cr_assert_null(tw_asset_find("console"));
}
