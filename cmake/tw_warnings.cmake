# Warnings are errors: a warning left in today hides the one that matters tomorrow.
set(TW_WARNING_FLAGS -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter
    -Wno-format-truncation) # truncating into fixed error buffers is deliberate
if(TW_WERROR)
  list(APPEND TW_WARNING_FLAGS -Werror)
endif()
add_compile_options(${TW_WARNING_FLAGS})
add_compile_definitions(_GNU_SOURCE)
